#!/usr/bin/env bash
# Soak test (not run by CI): 500 symbols against a mock that fails 20% of requests at random
# (503, HTML 502, cut body, bad JSON, reset, and now and then a 429 with Retry-After 1 s),
# with --retries 4. Checks that every price is printed, that no request was banned (the mock
# answers 418 to anything sent inside a Retry-After window), and that the run finishes.
#
#   scripts/soak.sh            # 5 runs, seeds 1..5
#   RUNS=10 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "soak.sh: python3 is required" >&2; exit 1; }
command -v cargo >/dev/null || { echo "soak.sh: cargo is required" >&2; exit 1; }
# Measure the binary users get: `cargo install` builds pricefetch alone, so it is built apart from
# the mock (built together, the mock's dev-dependency features would be switched on in it too).
# Both land in cargo's target directory, wherever CARGO_TARGET_DIR or a config puts it.
cargo build --release --locked --quiet --bin pricefetch
cargo build --release --locked --quiet -p mock-binance
exec python3 scripts/soak.py "$@"
