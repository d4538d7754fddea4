#!/usr/bin/env python3
"""The soak behind scripts/soak.sh: one fresh mock per run, seeds 1..RUNS.

With faults independent per request, a symbol whose 5 attempts (--retries 4) all draw a fault
is lost to chance: N x rate^5 such symbols per run are expected (0.16 for 500 at 20%). Those are
counted apart ("unlucky"). A run fails the soak only for a defect: a ban, a crash or hang, or a
symbol that failed *before* using all its attempts or with an error that is not transient.
"""
import json
import os
import statistics
import subprocess
import sys
import time

from harness import BIN, Mock, generated_symbols

RUNS = int(os.environ.get("RUNS", "5"))
N = int(os.environ.get("SYMBOLS", "500"))
FAULT_RATE = os.environ.get("FAULT_RATE", "0.2")
RETRIES = 4
TRANSIENT = {"server", "transport", "decode", "timeout", "connect"}


def soak(seed):
    with Mock("--symbols", str(N), "--fault-rate", FAULT_RATE, "--seed", str(seed)) as mock:
        start = time.perf_counter()
        proc = subprocess.run(
            [BIN, "--base-url", mock.url, "--retries", str(RETRIES), "--strategy", "each",
             "-f", "json", "-q",
             "--deadline", "5m", *generated_symbols(N)],
            capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - start
        report = json.loads(proc.stdout)
        seen = mock.stats()
    banned = seen["by_status"].get("418", 0)
    limited = seen["by_status"].get("429", 0)
    failed = [r for r in report["results"] if "error" in r]
    unlucky = [r for r in failed
               if r["error"]["kind"] in TRANSIENT and r["attempts"] >= RETRIES + 1]
    defects = len(failed) - len(unlucky)
    ok = banned == 0 and defects == 0 and proc.returncode in (0, 3)
    print(f"| {seed} | {proc.returncode} | {report['ok']}/{N} | {len(unlucky)} | {seen['requests']} | "
          f"{report['retries']} | {limited} | {banned} | {wall:.2f} s | {'ok' if ok else 'FAILED'} |")
    for r in failed:
        print(f"  {r['symbol']}: {r['error']['message']} ({r['attempts']} attempts)")
    return ok, wall, seen["requests"], report["retries"], len(unlucky)


def main():
    expected = N * float(FAULT_RATE) ** (RETRIES + 1)
    print(f"soak: {N} symbols, fault rate {FAULT_RATE}, --retries {RETRIES}, {RUNS} runs; "
          f"expected unlucky symbols per run (all {RETRIES + 1} attempts faulted): {expected:.2f}\n")
    print("| seed | exit | prices | unlucky | requests | retries | 429s | 418s | wall | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = [soak(seed) for seed in range(1, RUNS + 1)]
    walls = [r[1] for r in results]
    print(f"\nmedian wall {statistics.median(walls):.2f} s, median requests "
          f"{statistics.median(r[2] for r in results):.0f}, median retries "
          f"{statistics.median(r[3] for r in results):.0f}; unlucky symbols "
          f"{sum(r[4] for r in results)} in {RUNS} runs (expected {expected * RUNS:.1f}); "
          f"{sum(r[0] for r in results)}/{RUNS} runs free of defects (no ban, nothing lost early)")
    return 0 if all(r[0] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
