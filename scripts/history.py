"""`scripts/bench.sh history`: prices in the past against the mock at LATENCY_MS (default 50).

1. One year of 1m candles for one symbol (525,600 rows, 526 requests) with `-f csv > /dev/null`:
   wall time against the floor `ceil(526 / w) x latency` (w: the requests at once, -c up to
   32) plus the time to produce, parse and write the rows (measured apart: the same candles
   from a mock with no latency; the mock's share of it is CPU Binance would spend), and
   peak RSS for one month and for one year (flat in the range's length: the rows are written as
   they arrive, at most -c answers held);
2. the same year paginated one request after another in Python with `requests`, as ccxt's
   fetchOHLCV loop and the forum answers do it;
3. `--at` for 100 symbols: one round of requests, not 100 in a row.

RUNS runs each (default 3), medians. Targets: the year within 1.2x of its floor, at least 10x
faster than the loop, RSS <= 24 MiB for a year; `--at` is shown against its rounds of -c.
"""
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import BIN, Mock, generated_symbols

GNU_TIME = "/usr/bin/time"
RUNS = int(os.environ.get("RUNS", "3"))
LATENCY = int(os.environ.get("LATENCY_MS", "50")) / 1000
C = int(os.environ.get("HISTORY_C", "64"))
STATE_DIR = tempfile.mkdtemp(prefix="pricefetch-bench-history-")
ENV = dict(os.environ, PRICEFETCH_STATE_DIR=STATE_DIR)
# 2024 is a leap year: 2023-03-25 to 2024-03-24 is 366 days; take 365 from 2024-03-25.
YEAR = ("2024-03-25T00:00Z", "2025-03-25T00:00Z")
MONTH = ("2024-03-25T00:00Z", "2024-04-24T00:00Z")
UNLIMITED = ["--max-weight", "100000", "--weight-limit", "100000000"]


def timed(cmd):
    """(wall s, peak RSS MiB) of one run, its output thrown away."""
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.perf_counter()
        code = subprocess.call([GNU_TIME, "-f", "%M", "-o", t.name, *cmd],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        wall = time.perf_counter() - start
        if code != 0:
            sys.exit(f"bench: {' '.join(cmd[:6])} … exited {code}")
        return wall, int(t.read().split()[-1]) / 1024


def candles(mock, span):
    return [BIN, "--base-url", mock.url, "-q", "-f", "csv", "-c", str(C), *UNLIMITED,
            "--candles", "1m", "--from", span[0], "--to", span[1], "BTCUSDT"]


PY_LOOP = r'''
import sys, requests
base, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = requests.Session()
rows = 0
while start < end:
    r = s.get(base + "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m",
              "startTime": start, "endTime": end - 1, "limit": 1000})
    page = r.json()
    if not page:
        break
    rows += len(page)
    start = page[-1][0] + 60000
print(rows)
'''


def main():
    print(f"## History: {LATENCY * 1000:.0f} ms latency, -c {C}, medians of {RUNS}\n")
    limit = ["--weight-limit", "100000000", "--symbols", "100"]
    with Mock("--latency", f"{LATENCY * 1000:.0f}ms", *limit) as slow, Mock(*limit) as fast:
        # Warm-up, and the requests a year takes.
        before = slow.stats()["requests"]
        timed(candles(slow, YEAR))
        requests = slow.stats()["requests"] - before
        year = [timed(candles(slow, YEAR)) for _ in range(RUNS)]
        month = [timed(candles(slow, MONTH)) for _ in range(RUNS)]
        work = [timed(candles(fast, YEAR))[0] for _ in range(RUNS)]
        start_ms = 1711324800000
        loop = []
        for _ in range(max(1, RUNS // 3)):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", PY_LOOP, slow.url, str(start_ms),
                                  str(start_ms + 365 * 86_400_000)],
                                 capture_output=True, text=True, check=True)
            loop.append(time.perf_counter() - t0)
            assert int(out.stdout) == 525_600, out.stdout
        at = [timed([BIN, "--base-url", slow.url, "-q", "-f", "plain", "--at",
                     "2024-03-01T12:00:00Z", *UNLIMITED, *generated_symbols(100)])[0]
              for _ in range(RUNS)]
    med = statistics.median
    # pricefetch asks at most 32 requests of a range at once (history::WINDOW).
    window = min(C, 32)
    rounds = math.ceil(requests / window)
    floor = rounds * LATENCY + med(work)
    y_wall, y_rss = med(w for w, _ in year), med(r for _, r in year)
    m_rss = med(r for _, r in month)
    speedup = med(loop) / y_wall
    at_rounds = math.ceil(100 / C)
    at_floor = at_rounds * LATENCY
    ok = y_wall <= 1.2 * floor and speedup >= 10 and y_rss <= 24
    print("| case | wall | floor | wall / floor | peak RSS |")
    print("|---|---|---|---|---|")
    print(f"| a year of 1m candles ({requests} requests, {rounds} rounds of {window}) | "
          f"{y_wall * 1000:.0f} ms | {floor * 1000:.0f} ms ({rounds} x {LATENCY * 1000:.0f} ms "
          f"+ {med(work) * 1000:.0f} ms of work) | {y_wall / floor:.2f} | {y_rss:.1f} MiB |")
    print(f"| a month of 1m candles | {med(w for w, _ in month) * 1000:.0f} ms | | | "
          f"{m_rss:.1f} MiB |")
    print(f"| the year, python requests pagination loop | {med(loop) * 1000:.0f} ms | "
          f"{requests * LATENCY * 1000:.0f} ms ({requests} x {LATENCY * 1000:.0f} ms) | "
          f"pricefetch {speedup:.1f}x faster | |")
    print(f"| --at for 100 symbols (-c {C}) | {med(at) * 1000:.0f} ms | {at_floor * 1000:.0f} ms "
          f"({at_rounds} x {LATENCY * 1000:.0f} ms) | {med(at) / at_floor:.2f} | |")
    print(f"\nTargets: the year within 1.2x of its floor, >= 10x the loop, RSS <= 24 MiB: "
          f"{'met' if ok else 'MISSED'}\n")
    return not ok
