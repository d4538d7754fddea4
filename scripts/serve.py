"""`scripts/bench.sh serve`: the exporter (`--stream --serve`) under load (issue 19).

1,000 symbols x 10 updates a second from the mock, for SERVE_SECONDS (default 20) per run, RUNS
runs (default 3), medians:

1. `--stream -f ndjson > /dev/null` alone: CPU (of one core) and peak RSS, the baseline;
2. `--stream --serve 127.0.0.1:0` while this script scrapes /metrics 50 times a second over
   one kept-alive connection, as Prometheus does: the exporter's CPU and peak RSS, and each
   scrape's latency (request sent to the whole body read);
3. what a scrape costs an exporter that polls Binance on every scrape (ix-ai/crypto-exporter's
   way): one `pricefetch -f openmetrics` of the same 1,000 symbols against the mock with 50 ms
   latency (a round trip the poll cannot avoid), its wall time and the request weight it spent.

Targets: scrape p99 <= 5 ms; exporter CPU <= 1.2x the stream's alone; RSS <= 24 MiB.
"""
import http.client
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from harness import BIN, Mock, generated_symbols

GNU_TIME = "/usr/bin/time"
RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = int(os.environ.get("SERVE_SECONDS", "20"))
N = int(os.environ.get("SERVE_SYMBOLS", "1000"))
RATE = 50
STATE_DIR = tempfile.mkdtemp(prefix="pricefetch-bench-serve-")
ENV = dict(os.environ, PRICEFETCH_STATE_DIR=STATE_DIR)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def timed(cmd, stdout=subprocess.DEVNULL, on_start=None):
    """Runs cmd under GNU time: (exit code, CPU s, peak RSS MiB, what on_start returned)."""
    with tempfile.NamedTemporaryFile("r") as t:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", t.name, *cmd], stdout=stdout,
                                stderr=subprocess.PIPE, env=ENV, text=True)
        extra = on_start(proc) if on_start else None
        proc.stderr.read()
        code = proc.wait()
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        rss = int((t.read().split() or ["0"])[-1]) / 1024
    cpu = (done.ru_utime - usage.ru_utime) + (done.ru_stime - usage.ru_stime)
    return code, cpu, rss, extra


def exporter_address(proc):
    """Reads `serving http://HOST:PORT/metrics` from the exporter's stderr: (host, port)."""
    while True:
        line = proc.stderr.readline()
        if not line:
            sys.exit("bench: the exporter ended before serving")
        if line.startswith("serving http://"):
            addr = line.split("http://", 1)[1].split("/", 1)[0]
            host, port = addr.rsplit(":", 1)
            return host, int(port)


def scrape_while_running(proc):
    """Reads the exporter's address from its stderr, then scrapes at RATE a second until it
    ends: the latency of each scrape (ms) and the size of the last body."""
    host, port = exporter_address(proc)
    latencies, size = [], [0]

    def scrape():
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        headers = {"Accept": "application/openmetrics-text;version=1.0.0;q=0.5,"
                             "text/plain;version=0.0.4;q=0.4,*/*;q=0.1"}
        next_at = time.perf_counter()
        while proc.poll() is None:
            start = time.perf_counter()
            try:
                conn.request("GET", "/metrics", headers=headers)
                body = conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                break
            latencies.append((time.perf_counter() - start) * 1000)
            size[0] = len(body)
            next_at += 1 / RATE
            time.sleep(max(0.0, next_at - time.perf_counter()))

    thread = threading.Thread(target=scrape)
    thread.start()
    # Keep the pipe drained while the scraper runs; the thread ends with the process.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    proc.wait()
    thread.join()
    # Leave the first second out: the snapshot and the first updates.
    return latencies[RATE:], size[0]


def main():
    names = generated_symbols(N)
    print(f"## The exporter: {N} symbols x 10 updates/s, {RATE} scrapes/s, {SECONDS} s a run, "
          f"medians of {RUNS}\n")
    alone, served = [], []
    with Mock("--symbols", str(N), "--stream-interval", "100ms") as mock:
        ws = mock.url.replace("http://", "ws://")
        base = [BIN, "--base-url", mock.url, "--stream-url", ws, "--stream",
                "--max-weight", "100000", "--deadline", f"{SECONDS}s", *names]
        for _ in range(RUNS):
            code, cpu, rss, _ = timed([*base, "-f", "ndjson"])
            if code != 0:
                sys.exit(f"bench: --stream exited {code}")
            alone.append((cpu / SECONDS * 100, rss))
            code, cpu, rss, (lat, size) = timed([*base, "--serve", "127.0.0.1:0"],
                                                on_start=scrape_while_running)
            if code != 0:
                sys.exit(f"bench: --stream --serve exited {code}")
            served.append((cpu / SECONDS * 100, rss, pct(lat, 0.5), pct(lat, 0.99), len(lat),
                           size))
    med = lambda rows, i: statistics.median(r[i] for r in rows)  # noqa: E731
    with Mock("--symbols", str(N), "--latency", "50ms") as slow:
        walls, weights = [], []
        for _ in range(RUNS):
            before = slow.stats()
            start = time.perf_counter()
            subprocess.call([BIN, "--base-url", slow.url, "-q", "-f", "openmetrics",
                             "--max-weight", "100000", *names],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
            walls.append((time.perf_counter() - start) * 1000)
            weights.append(slow.stats()["weight"] - before["weight"])
    a_cpu, s_cpu = med(alone, 0), med(served, 0)
    ratio = s_cpu / a_cpu if a_cpu else float("nan")
    p99, rss = med(served, 3), med(served, 1)
    ok = p99 <= 5.0 and ratio <= 1.2 and rss <= 24
    print("| run | CPU (of one core) | peak RSS | scrape p50 | scrape p99 | scrapes | body | weight per scrape |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| `--stream -f ndjson > /dev/null` | {a_cpu:.1f}% | {med(alone, 1):.1f} MiB | | | | | |")
    print(f"| `--stream --serve` | {s_cpu:.1f}% ({ratio:.2f}x) | {rss:.1f} MiB | "
          f"{med(served, 2):.2f} ms | {p99:.2f} ms | {int(med(served, 4)):,} | "
          f"{int(med(served, 5)) // 1024} KiB | 0 |")
    print(f"| a scrape that polls Binance (one `-f openmetrics` round, 50 ms latency) | | | "
          f"{statistics.median(walls):.0f} ms | {max(walls):.0f} ms | {RUNS} | | "
          f"{int(statistics.median(weights))} |")
    print(f"\nTargets: scrape p99 <= 5 ms, CPU <= 1.2x the stream's alone, RSS <= 24 MiB: "
          f"{'met' if ok else 'MISSED'}\n")
    return not ok
