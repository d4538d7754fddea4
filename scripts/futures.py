"""`scripts/bench.sh futures`: the futures markets against the mock at LATENCY_MS (default 50).

1. Mark prices of 200 USD-M perpetuals (`--ticker mark`): one request for the whole market
   (`--all`, weight 10) against one request per symbol (`-c 64`: ceil(200 / 64) rounds);
2. the funding history of 20 perpetuals over 3 years (3,285 fundings each: 4 pages of 1,000,
   one after another per symbol, the symbols at once), paced by the funding limit (80 requests,
   within the 100 a minute pricefetch allows itself of Binance's 500 per 5 minutes).

Floors: rounds x latency, plus the work measured against a mock with no latency. Each run
starts from an empty state directory (the funding budget is per minute). RUNS runs (default
3; the mock's own funding limit is 500 per 5 minutes), medians. Target: each within 1.2x of its
floor. The mark-price stream (`!markPrice@arr@1s`) is not built yet, so not measured.
"""
import math
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
    base = [BIN, "--base-url", mock.url, "--market", "usdm", "-q", "-f", "csv"]
    funding = [*base, "--funding", "--from", "2021-01-01", "--to", "2024-01-01", "-c", "20",
               *PERPS[:20]]
    return [
        ("200 mark prices, --all (1 request)", [*base, "--ticker", "mark", "--all"], 1),
        ("200 mark prices, one request each (-c 64)",
         [*base, "--ticker", "mark", "-c", "64", *PERPS], math.ceil(200 / 64)),
        ("funding history, 20 perpetuals x 3 years (80 requests)", funding, 4),
    ]


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
    return not ok
