"""`scripts/bench.sh futures`: the futures markets against the mock at LATENCY_MS (default 50).

1. Mark prices of 200 USD-M perpetuals (`--ticker mark`): one request for the whole market
   (`--all`, weight 10) against one request per symbol (`-c 64`: ceil(200 / 64) rounds);
2. the funding history of 20 perpetuals over 3 years (3,285 fundings each: 4 pages of 1,000,
   one after another per symbol, the symbols at once), paced by the funding limit (80 requests,
   within the 100 a minute pricefetch allows itself of Binance's 500 per 5 minutes).

Floors: rounds x latency, plus the work measured against a mock with no latency. Each run
starts from an empty state directory (the funding budget is per minute). RUNS runs (default
3; the mock's own funding limit is 500 per 5 minutes), medians. Target: each within 1.2x of its
floor.

3. The mark-price stream of every USD-M contract (`--stream --all --ticker mark`,
   `!markPrice@arr@1s`, 300 contracts), the mock sending the array every second (Binance's pace)
   and every 100 ms (ten times it), for STREAM_SECONDS (default 30), written as ndjson to
   /dev/null: CPU seconds and peak RSS against websocat reading the same stream (raw messages to
   /dev/null). Target: at Binance's pace, at most 1.5x websocat's CPU (the faster pace is shown:
   there websocat does nothing per update, pricefetch checks and writes each).
"""
import math
import resource
import shutil
import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import BIN, Mock, generated_symbols

RUNS = int(os.environ.get("RUNS", "3"))
LATENCY = int(os.environ.get("LATENCY_MS", "50")) / 1000
PERPS = generated_symbols(200)


def timed(cmd):
    """Wall seconds of one run from an empty state directory, its output thrown away."""
    with tempfile.TemporaryDirectory(prefix="pricefetch-bench-futures-") as state:
        env = dict(os.environ, PRICEFETCH_STATE_DIR=state)
        start = time.perf_counter()
        code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - start
    if code != 0:
        sys.exit(f"bench: {' '.join(cmd[:8])} … exited {code}")
    return wall


def cases(mock):
    # The limit given: each run starts from an empty state directory, and would otherwise ask
    # the market's own first (exchangeInfo, once a day), a round more than a day's other runs.
    base = [BIN, "--base-url", mock.url, "--market", "usdm", "--weight-limit", "2400", "-q",
            "-f", "csv"]
    funding = [*base, "--funding", "--from", "2021-01-01", "--to", "2024-01-01", "-c", "20",
               *PERPS[:20]]
    return [
        ("200 mark prices, --all (1 request)", [*base, "--ticker", "mark", "--all"], 1),
        ("200 mark prices, one request each (-c 64)",
         [*base, "--ticker", "mark", "-c", "64", *PERPS], math.ceil(200 / 64)),
        ("funding history, 20 perpetuals x 3 years (80 requests)", funding, 4),
    ]


def cpu_and_rss(argv, stop=None):
    """CPU seconds and peak RSS (MiB) of argv under GNU time, its stdout thrown away; with
    `stop`, interrupted after that many seconds (websocat runs until told)."""
    with tempfile.NamedTemporaryFile("r") as t:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", t.name, *argv],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if stop is not None:
            time.sleep(stop)
            subprocess.call(["pkill", "-INT", "-P", str(proc.pid)])
        proc.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rss = int((t.read().split() or ["0"])[-1]) / 1024
    if stop is None and proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv[:6])} … exited {proc.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, rss


def mark_stream():
    """Case 3: the whole market's mark prices streamed, against websocat, at Binance's pace (the
    target) and ten times it."""
    seconds = int(os.environ.get("STREAM_SECONDS", "30"))
    websocat = shutil.which("websocat") or os.path.expanduser("~/.cargo/bin/websocat")
    has = os.access(websocat, os.X_OK)
    print(f"\n## The mark-price stream: 300 contracts for {seconds} s, medians of {RUNS}\n")
    print("| pace | pricefetch CPU (ndjson) | peak RSS | websocat CPU (raw) | peak RSS | ratio |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for interval, pace in (("1s", "Binance's: 300 updates/s"),
                           ("100ms", "ten times it: 3,000 updates/s")):
        with Mock("--symbols", "296", "--stream-interval", interval) as mock:
            ws = mock.url.replace("http://", "ws://")
            ours = [BIN, "--base-url", mock.url, "--stream-url", ws, "--market", "usdm",
                    "--stream", "--all", "--ticker", "mark", "-f", "ndjson", "-q",
                    "--deadline", f"{seconds}s"]
            theirs = [websocat, "-t", "--no-close", "-B", "1048576",
                      f"{ws}/market/stream?streams=!markPrice@arr@1s"]
            runs = [cpu_and_rss(ours) for _ in range(RUNS)]
            wruns = [cpu_and_rss(theirs, stop=seconds) for _ in range(RUNS)] if has else []
        cpu, rss = (statistics.median(r[i] for r in runs) for i in (0, 1))
        if wruns:
            wcpu, wrss = (statistics.median(r[i] for r in wruns) for i in (0, 1))
            ratios.append(cpu / wcpu)
            theirs_cells = f"{wcpu:.3f} s | {wrss:.1f} MiB | {cpu / wcpu:.2f}"
        else:
            theirs_cells = "not installed | | "
        print(f"| {pace} | {cpu:.3f} s | {rss:.1f} MiB | {theirs_cells} |")
    if not ratios:
        print("\nwebsocat is not installed (scripts/bench.sh futures installs it): not compared\n")
        return False
    ok = ratios[0] <= 1.5
    print(f"\nTarget: at Binance's pace, at most 1.5x websocat's CPU: {'met' if ok else 'MISSED'}\n")
    return not ok


def main():
    print(f"## Futures: {LATENCY * 1000:.0f} ms latency, medians of {RUNS}\n")
    rows, ok = [], True
    with Mock("--latency", f"{LATENCY * 1000:.0f}ms", "--symbols", "200") as slow, \
            Mock("--symbols", "200") as fast:
        for (name, cmd, rounds), (_, fast_cmd, _) in zip(cases(slow), cases(fast)):
            before = slow.stats()["requests"]
            timed(cmd)
            requests = slow.stats()["requests"] - before
            wall = statistics.median(timed(cmd) for _ in range(RUNS))
            work = statistics.median(timed(fast_cmd) for _ in range(RUNS))
            floor = rounds * LATENCY + work
            ok &= wall <= 1.2 * floor
            rows.append((name, wall, floor, rounds, work, requests))
    print("| case | wall | floor | wall / floor | requests |")
    print("|---|---|---|---|---|")
    for name, wall, floor, rounds, work, requests in rows:
        print(f"| {name} | {wall * 1000:.0f} ms | {floor * 1000:.0f} ms ({rounds} x "
              f"{LATENCY * 1000:.0f} ms + {work * 1000:.0f} ms of work) | {wall / floor:.2f} | "
              f"{requests} |")
    print(f"\nTarget: each within 1.2x of its floor: {'met' if ok else 'MISSED'}\n")
    return mark_stream() or not ok
