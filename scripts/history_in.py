"""`scripts/bench.sh history-in`: a year of daily prices of 20 assets in EUR, as beancount.

Each asset routes through two legs (SYMnnnnUSDT / EURUSDT), EURUSDT shared: 21 distinct legs,
each one request of 365 daily candles. The pairs are cached first (one exchangeInfo, as any run
after the first), so a measured run sends one request per leg and nothing else.

Floor: ceil(legs / w) x latency (w: requests at once, -c, at most 32 for a range) plus the work
of making and writing the rows, measured apart against a mock with no latency. Targets: wall
within 1.2x of that floor, requests = legs, peak RSS <= 24 MiB. The peer is what a user writes
without pricefetch: a Python loop asking each pair's candles one after another (ccxt's
fetch_ohlcv does one request per call), combining closes with Python's decimal module.
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
RUNS = int(os.environ.get("RUNS", "5"))
LATENCY = int(os.environ.get("LATENCY_MS", "50")) / 1000
ASSETS = 20
C = 32
RANGE = ("2024-01-01", "2025-01-01")
STATE_DIR = tempfile.mkdtemp(prefix="pricefetch-bench-history-in-")
ENV = dict(os.environ, PRICEFETCH_STATE_DIR=STATE_DIR)


def command(mock, assets):
    return [BIN, "--base-url", mock.url, "-q", "-f", "beancount", "-c", str(C), "--in", "EUR",
            "--candles", "1d", "--from", RANGE[0], "--to", RANGE[1], *assets]


def timed(mock, assets):
    """(wall s, peak RSS MiB, requests the mock saw, lines written) of one run."""
    before = mock.stats()["requests"]
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.perf_counter()
        out = subprocess.run([GNU_TIME, "-f", "%M", "-o", t.name, *command(mock, assets)],
                             capture_output=True, text=True, env=ENV)
        wall = time.perf_counter() - start
        if out.returncode != 0:
            sys.exit(f"bench: pricefetch --in EUR --candles exited {out.returncode}: {out.stderr}")
        rss = int(t.read().split()[-1]) / 1024
    return wall, rss, mock.stats()["requests"] - before, len(out.stdout.splitlines())


PY_LOOP = r'''
import http.client, json, sys, urllib.parse
from decimal import Decimal, ROUND_HALF_EVEN
host, assets = sys.argv[1], sys.argv[2:]
conn = http.client.HTTPConnection(host)
def fetch_ohlcv(symbol):
    query = urllib.parse.urlencode({"symbol": symbol, "interval": "1d", "limit": 1000,
                                    "startTime": 1704067200000, "endTime": 1735689599999})
    conn.request("GET", "/api/v3/klines?" + query)
    return json.loads(conn.getresponse().read())
lines = 0
for asset in assets:
    legs = fetch_ohlcv(asset + "USDT"), fetch_ohlcv("EURUSDT")
    eur = {row[0]: Decimal(row[4]) for row in legs[1]}
    for row in legs[0]:
        if row[0] in eur:
            price = (Decimal(row[4]) / eur[row[0]]).quantize(Decimal("1e-8"), ROUND_HALF_EVEN)
            lines += 1
print(lines)
'''


def main():
    assets = [s[: -len("USDT")] for s in generated_symbols(ASSETS)]
    legs = ASSETS + 1
    print(f"## History in your currency: {ASSETS} assets in EUR, daily closes for a year "
          f"({legs} legs), mock latency {LATENCY * 1000:.0f} ms, -c {C}, medians of {RUNS}\n")
    limit = ["--weight-limit", "100000000", "--symbols", str(ASSETS)]
    with Mock("--latency", f"{LATENCY * 1000:.0f}ms", *limit) as slow, Mock(*limit) as fast:
        timed(slow, assets)  # caches the pairs (exchangeInfo), as every run after the first
        timed(fast, assets)
        runs = [timed(slow, assets) for _ in range(RUNS)]
        work = [timed(fast, assets)[0] for _ in range(RUNS)]
        loop = []
        host = slow.url.split("://", 1)[1]
        for _ in range(max(1, RUNS // 2)):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", PY_LOOP, host, *assets],
                                 capture_output=True, text=True, check=True)
            loop.append(time.perf_counter() - t0)
            assert int(out.stdout) == ASSETS * 366, out.stdout
    med = statistics.median
    wall, rss = med(r[0] for r in runs), med(r[1] for r in runs)
    requests, lines = med(r[2] for r in runs), runs[0][3]
    rounds = math.ceil(legs / C)
    floor = rounds * LATENCY + med(work)
    ok = wall <= 1.2 * floor and requests == legs and rss <= 24 and lines == ASSETS * 366
    print("| case | wall | floor | wall / floor | requests | peak RSS |")
    print("|---|---|---|---|---|---|")
    print(f"| pricefetch --in EUR --candles 1d -f beancount ({lines} lines) | {wall * 1000:.0f} ms "
          f"| {floor * 1000:.0f} ms ({rounds} x {LATENCY * 1000:.0f} ms + {med(work) * 1000:.0f} "
          f"ms of work) | {wall / floor:.2f} | {requests:.0f} (legs: {legs}) | {rss:.1f} MiB |")
    print(f"| python loop, fetch_ohlcv per pair, decimal | {med(loop) * 1000:.0f} ms | "
          f"{2 * ASSETS * LATENCY * 1000:.0f} ms ({2 * ASSETS} x {LATENCY * 1000:.0f} ms) | "
          f"pricefetch {med(loop) / wall:.1f}x faster | {2 * ASSETS} | |")
    print(f"\nTargets: within 1.2x of the floor, one request per leg, RSS <= 24 MiB: "
          f"{'met' if ok else 'MISSED'}\n")
    return not ok
