"""`scripts/bench.sh convert`: `--in EUR` for the 200 assets of a 2,000-pair market.

Each asset routes through two legs (SYMnnnnUSDT / EURUSDT), so a run is one exchangeInfo (none
when the pairs are cached) and one round of batched price requests. The floor is the round trips
the run cannot avoid: 2 x latency cold, 1 x latency with the cache; and, since the mock itself
takes time to build a 2,000-pair exchangeInfo, the same requests sent one after another by a bare
HTTP client (Python's http.client, a new connection each), which no client can beat. The route
search itself is read from pricefetch's own debug line ("routes for 200 assets over N pairs in
X ms").
"""
import http.client
import json
import urllib.parse
import os
import re
import statistics
import subprocess
import tempfile
import time

from harness import BIN, Mock, generated_symbols

RUNS = int(os.environ.get("RUNS", "5"))
LATENCY = int(os.environ.get("LATENCY_MS", "50")) / 1000
PAIRS = 2000
ASSETS = 200
LIMITS = ["--max-weight", "100000000", "--weight-limit", "100000000"]


def one(mock, state, assets, extra=()):
    """Wall seconds and the mock's request count for one whole process."""
    before = mock.stats()["requests"]
    env = dict(os.environ, PRICEFETCH_STATE_DIR=state)
    start = time.perf_counter()
    code = subprocess.call(
        [BIN, "--base-url", mock.url, "-q", "-f", "plain", "--in", "EUR", *LIMITS, *extra,
         *assets],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"bench: pricefetch --in EUR exited {code}")
    return wall, mock.stats()["requests"] - before


def bare_ms(mock, path):
    """Median time of one GET of `path` by a bare client on a new connection."""
    host = urllib.parse.urlparse(mock.url).netloc
    walls = []
    for _ in range(RUNS):
        start = time.perf_counter()
        conn = http.client.HTTPConnection(host)
        conn.request("GET", path)
        conn.getresponse().read()
        conn.close()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def route_search_ms(mock, state, assets):
    """The route search's own time, from the debug line of one run."""
    env = dict(os.environ, PRICEFETCH_STATE_DIR=state, RUST_LOG="pricefetch=debug")
    err = subprocess.run(
        [BIN, "--base-url", mock.url, "-f", "plain", "--in", "EUR", *LIMITS, *assets],
        capture_output=True, text=True, env=env).stderr
    found = re.search(r"routes for \d+ assets over (\d+) pairs in ([0-9.]+) ms", err)
    return (int(found.group(1)), float(found.group(2))) if found else (0, float("nan"))


def main():
    assets = [s[: -len("USDT")] for s in generated_symbols(ASSETS)]
    failed = False
    with Mock("--latency", f"{int(LATENCY * 1000)}ms", "--symbols", str(PAIRS),
              "--weight-limit", "100000000") as mock:
        cold, cached = [], []
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory(prefix="pricefetch-bench-") as state:
                cold.append(one(mock, state, assets))
                cached.append(one(mock, state, assets))
        searches = []
        with tempfile.TemporaryDirectory(prefix="pricefetch-bench-") as state:
            for _ in range(RUNS):
                searches.append(route_search_ms(mock, state, assets))
        batch = urllib.parse.quote(json.dumps(generated_symbols(100), separators=(",", ":")))
        info = bare_ms(mock, "/api/v3/exchangeInfo?symbolStatus=TRADING")
        tickers = bare_ms(mock, f"/api/v3/ticker/price?symbols={batch}")
        print(f"## Conversion: --in EUR for {ASSETS} assets of a {PAIRS}-pair market, mock "
              f"latency {LATENCY * 1000:.0f} ms, {RUNS} runs, medians\n")
        print(f"A bare client needs {info * 1000:.1f} ms for the exchangeInfo and "
              f"{tickers * 1000:.1f} ms for a 100-symbol price batch.\n")
        print("| case | wall (median) | requests | round trips | wall / round trips | target "
              "| bare client, same requests | wall / bare |")
        print("|---|---|---|---|---|---|---|---|")
        for name, runs, trips, bare in [
                ("pairs not cached (exchangeInfo + tickers)", cold, 2, info + tickers),
                ("pairs cached (tickers only)", cached, 1, tickers)]:
            wall = statistics.median(r[0] for r in runs)
            requests = statistics.median(r[1] for r in runs)
            ratio = wall / (trips * LATENCY)
            ok = ratio <= 1.1
            failed |= not ok
            print(f"| {name} | {wall * 1000:.1f} ms | {requests:.0f} | "
                  f"{trips * LATENCY * 1000:.0f} ms ({trips}) | {ratio:.3f} | <= 1.1"
                  f"{'' if ok else ' MISSED'} | {bare * 1000:.1f} ms | {wall / bare:.3f} |")
        pairs = searches[0][0]
        search = statistics.median(s[1] for s in searches)
        ok = search < 1
        failed |= not ok
        print(f"\nRoute search for {ASSETS} assets over {pairs} pairs: {search:.3f} ms (median of "
              f"{RUNS}; target < 1 ms): {'met' if ok else 'MISSED'}\n")
    return failed
