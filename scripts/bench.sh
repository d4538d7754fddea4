#!/usr/bin/env bash
# Benchmarks pricefetch against the project's mock Binance (never the real one).
#
#   scripts/bench.sh                 # both suites: core (100 symbols, one request each) and market
#   scripts/bench.sh market          # batching over 1,000 symbols, and --all over 3,000
#   scripts/bench.sh ledger          # the shared rate-limit ledger's cost (2,000 requests)
#   scripts/bench.sh fleet           # 10 and 50 processes on one IP for 2 minutes (FLEET="10 50")
#   scripts/bench.sh stream          # --stream, 1,000 symbols x 10 updates/s, against websocat
#   scripts/bench.sh history         # a year of 1m candles and --at for 100 symbols, against a
#                                    # python requests pagination loop
#   scripts/bench.sh serve           # --stream --serve under 50 scrapes/s, against the stream alone
#   scripts/bench.sh serve-abuse     # --serve under 1,000 slow-header connections: scrapes get in
#   scripts/bench.sh convert         # --in EUR for 200 assets of a 2,000-pair market
#   scripts/bench.sh futures         # USD-M mark prices (--all and each), funding history, and
#                                    # the mark-price stream of 300 contracts against websocat
#   scripts/bench.sh history-in      # a year of daily prices of 20 assets in EUR (beancount),
#                                    # against a python loop of fetch_ohlcv per pair
#   scripts/bench.sh wan             # TLS through a latency relay (RTTS_MS="50 200"), against
#                                    # python aiohttp and requests (installed if missing, in a
#                                    # venv under the target directory) and curl
#   RUNS=9 scripts/bench.sh          # more runs
#
# Needs: cargo (builds the release binary and the mock), python3 (stdlib only) and GNU time
# (peak RSS; installed from Debian's packages if missing). Prints a Markdown table of medians
# against each case's floor, and exits 1 if a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench.sh: python3 is required" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "bench.sh: installing GNU time for peak-RSS measurement" >&2
  { apt-get update -qq && apt-get install -y -qq time; } >/dev/null || {
    echo "bench.sh: GNU time (/usr/bin/time) is required: apt-get install time" >&2; exit 1; }
fi
command -v cargo >/dev/null || { echo "bench.sh: cargo is required" >&2; exit 1; }
# Measure the binary users get: `cargo install` builds pricefetch alone, so it is built apart from
# the mock (built together, the mock's dev-dependency features would be switched on in it too).
# Both land in cargo's target directory, wherever CARGO_TARGET_DIR or a config puts it.
cargo build --release --locked --quiet --bin pricefetch
cargo build --release --locked --quiet -p mock-binance
python=python3
if [[ " $* " == *" wan "* || " $* " == *" history "* ]]; then
  # The peers (aiohttp, requests) live in a virtual environment under the target directory, never
  # in the system's Python; the suite runs with that Python, so its peers import from there.
  target=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  venv="$target/bench-venv"
  if ! "$venv/bin/python" -c "import aiohttp, requests" 2>/dev/null; then
    echo "bench.sh: installing aiohttp and requests into $venv for the peers of the wan and history suites" >&2
    python3 -m venv "$venv" || { echo "bench.sh: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
    "$venv/bin/python" -m pip install --quiet aiohttp requests \
      || { echo "bench.sh: pip install into $venv failed" >&2; exit 1; }
  fi
  python="$venv/bin/python"
fi
if [[ " $* " == *" stream "* || " $* " == *" futures "* ]] && ! command -v websocat >/dev/null && [ ! -x ~/.cargo/bin/websocat ]; then
  echo "bench.sh: installing websocat (cargo install websocat) to compare --stream with it" >&2
  cargo install --locked --quiet websocat || echo "bench.sh: websocat did not install; compared with nothing" >&2
fi
exec "$python" scripts/bench.py "$@"
