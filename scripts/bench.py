#!/usr/bin/env python3
"""Measures whole-process wall time, peak RSS and requests on the wire for pricefetch's modes.

Started by scripts/bench.sh after a release build. Each case runs RUNS times (default 5) against
the mock with LATENCY_MS server latency and SYMBOLS symbols; the table shows medians and the
ratio to the floor the case cannot beat (rounds x server latency). Peak RSS comes from GNU time
(%M): a child forked by Python would report Python's own high-water mark, because Linux carries
the pre-exec address space's peak into ru_maxrss. The mock's /__mock/stats gives the requests it
received.
"""
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from harness import BIN, Mock, generated_symbols

GNU_TIME = "/usr/bin/time"
RUNS = int(os.environ.get("RUNS", "5"))
LATENCY = int(os.environ.get("LATENCY_MS", "50")) / 1000
N = int(os.environ.get("SYMBOLS", "100"))
DEFAULT_C = 16
# The bench sends far more than Binance's 6000 weight per minute (and a compare run more than the
# default --max-weight): it measures speed, so the mock and pricefetch both lift their limits.
UNLIMITED = ["--max-weight", "100000000", "--weight-limit", "100000000"]


def run_once(mock, args, symbols):
    before = mock.stats()["requests"]
    with tempfile.NamedTemporaryFile("r") as rss_file:
        start = time.perf_counter()
        code = subprocess.call(
            [GNU_TIME, "-f", "%M", "-o", rss_file.name,
             BIN, "--base-url", mock.url, "-q", "-f", "plain", *args, *symbols],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        if code != 0:
            sys.exit(f"bench: pricefetch {' '.join(args)} exited {code}")
        rss_mib = int(rss_file.read().split()[-1]) / 1024
    return wall, rss_mib, mock.stats()["requests"] - before


def main():
    with Mock("--latency", f"{int(LATENCY * 1000)}ms", "--symbols", str(N),
              "--weight-limit", "100000000") as mock:
        symbols = generated_symbols(N)
        default_rounds = math.ceil(N / DEFAULT_C)
        cases = [
            # name, flags, floor in seconds, target ratio (None: report only)
            ("async -c 100", ["-c", "100"], LATENCY * math.ceil(N / 100), 1.5),
            (f"async (default -c {DEFAULT_C})", [], LATENCY * default_rounds, None),
            ("sync", ["--sync"], LATENCY * N, 1.03),
            ("compare (1 warmup + 3 runs)", ["--compare"],
             4 * LATENCY * (default_rounds + N), None),
        ]
        print(f"pricefetch benchmark: {N} symbols, mock latency {LATENCY * 1000:.0f} ms, "
              f"{RUNS} runs per case, medians")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
              f"{platform.release()}; command: scripts/bench.sh\n")
        print("| case | wall (median) | floor | wall / floor | target | peak RSS (median, max) "
              "| requests/run |")
        print("|---|---|---|---|---|---|---|")
        failed = False
        for name, flags, floor, target in cases:
            walls, rss, reqs = [], [], []
            for _ in range(RUNS):
                w, r, q = run_once(mock, flags + UNLIMITED, symbols)
                walls.append(w)
                rss.append(r)
                reqs.append(q)
            wall = statistics.median(walls)
            ratio = wall / floor
            ok_rss = max(rss) <= 12
            ok_wall = target is None or ratio <= target
            failed |= not (ok_rss and ok_wall)
            print(f"| {name} | {wall * 1000:.1f} ms | {floor * 1000:.0f} ms | {ratio:.3f} | "
                  f"{'<= ' + str(target) if target else '-'}{'' if ok_wall else ' MISSED'} | "
                  f"{statistics.median(rss):.1f} MiB, {max(rss):.1f} MiB"
                  f"{'' if ok_rss else ' (over 12 MiB)'} | {statistics.median(reqs):.0f} |")
        print("\nTargets: async -c 100 <= 1.5 x floor, sync <= 1.03 x floor, peak RSS <= 12 MiB.")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
