"""`scripts/bench.sh serve-abuse`: the exporter under a slow-header attack (issue 26, item 11).

`--stream --serve` of 1,000 symbols; this script opens ABUSE_CONNECTIONS (default 1,000)
connections that each send half a request's headers and then nothing, keeps them open, and
meanwhile scrapes /metrics 10 times a second, each on a new connection (the worst case for a
scraper: it must get in past the attackers). It reports each scrape's latency (connect to the
whole body read) during the attack, the exporter's open descriptors and RSS before, at the
height of the attack and 8 s after it (the header timeout is 5 s), medians of RUNS runs.

Targets: every scrape answers, p99 <= 100 ms; descriptors back to the baseline; RSS after the
attack within 4 MiB of before.
"""
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from harness import BIN, Mock, generated_symbols
from serve import exporter_address, pct

RUNS = int(os.environ.get("RUNS", "3"))
ATTACKERS = int(os.environ.get("ABUSE_CONNECTIONS", "1000"))
N = 1000
STATE_DIR = tempfile.mkdtemp(prefix="pricefetch-bench-abuse-")
ENV = dict(os.environ, PRICEFETCH_STATE_DIR=STATE_DIR)


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def scrape(host, port):
    """One scrape on a new connection: its latency in ms, or None when it failed."""
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/metrics")
        ok = conn.getresponse().status == 200
        conn.close()
    except (OSError, http.client.HTTPException):
        return None
    return (time.perf_counter() - start) * 1000 if ok else None


def one_run(mock, names):
    ws = mock.url.replace("http://", "ws://")
    proc = subprocess.Popen([BIN, "--base-url", mock.url, "--stream-url", ws, "--stream",
                             "--max-weight", "100000", "--serve", "127.0.0.1:0", *names],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, text=True)
    host, port = exporter_address(proc)
    time.sleep(2)
    for _ in range(20):
        scrape(host, port)
    before = (fds(proc.pid), rss(proc.pid))
    attackers, latencies, failed = [], [], 0
    for i in range(ATTACKERS):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        attackers.append(s)
        if i % 50 == 0:
            got = scrape(host, port)
            latencies.append(got) if got is not None else None
            failed += got is None
    height = (fds(proc.pid), rss(proc.pid))
    end = time.time() + 4
    while time.time() < end:
        got = scrape(host, port)
        latencies.append(got) if got is not None else None
        failed += got is None
        time.sleep(0.1)
    time.sleep(8)
    after = (fds(proc.pid), rss(proc.pid))
    for s in attackers:
        s.close()
    proc.terminate()
    proc.wait()
    return before, height, after, latencies, failed


def main():
    names = generated_symbols(N)
    print(f"## The exporter under {ATTACKERS:,} slow-header connections ({N} symbols), "
          f"medians of {RUNS}\n")
    rows = []
    with Mock("--symbols", str(N), "--stream-interval", "100ms") as mock:
        for _ in range(RUNS):
            rows.append(one_run(mock, names))
    med = lambda f: statistics.median(f(r) for r in rows)  # noqa: E731
    p50 = med(lambda r: pct(r[3], 0.5))
    p99 = med(lambda r: pct(r[3], 0.99))
    worst = max(max(r[3]) for r in rows)
    failed = sum(r[4] for r in rows)
    fd = [med(lambda r, i=i: r[i][0]) for i in range(3)]
    mem = [med(lambda r, i=i: r[i][1]) for i in range(3)]
    print("| | before | during the attack | 8 s after |")
    print("|---|---|---|---|")
    print(f"| open descriptors | {fd[0]:.0f} | {fd[1]:.0f} | {fd[2]:.0f} |")
    print(f"| RSS | {mem[0]:.1f} MiB | {mem[1]:.1f} MiB | {mem[2]:.1f} MiB |")
    print(f"\nscrapes during the attack: p50 {p50:.2f} ms, p99 {p99:.2f} ms, worst {worst:.1f} ms, "
          f"{failed} failed (target: none failed, p99 <= 100 ms)")
    ok = failed == 0 and p99 <= 100 and fd[2] <= fd[0] + 2 and mem[2] <= mem[0] + 4
    print("target met" if ok else "TARGET MISSED")
    return not ok


if __name__ == "__main__":
    sys.exit(main())
