#!/usr/bin/env bash
# A real Prometheus scrapes `pricefetch --stream --serve`, all on this machine's loopback:
#
#   scripts/scrape.sh
#
# Starts the project's mock Binance, the exporter (streaming BTCUSDT and ETHUSDT from the mock)
# and Prometheus (Debian's `prometheus` package, installed if missing) scraping it every second,
# waits for two scrapes, then asks Prometheus's HTTP API for the BTCUSDT price and prints it. Exits
# 0 when Prometheus has the price, 1 otherwise; stops everything it started either way. Its
# state lives in a temporary directory (removed at the end), HOME included.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v prometheus >/dev/null 2>&1; then
  echo "scrape.sh: installing Debian's prometheus package" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } >/dev/null \
    || { echo "scrape.sh: prometheus is required: apt-get install prometheus" >&2; exit 1; }
fi
cargo build --locked --quiet --bin pricefetch && cargo build --locked --quiet -p mock-binance
target=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 20 s for a line matching $2 in file $1, and prints it.
wait_for() {
  for _ in $(seq 200); do
    if line=$(grep -m1 -E "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
    sleep 0.1
  done
  echo "scrape.sh: gave up waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$target/debug/mock-binance" --port 0 >"$work/mock.out" 2>&1 &
pids+=($!)
base=$(wait_for "$work/mock.out" PRICEFETCH_BASE_URL= | sed 's/.*=//')
streams=$(wait_for "$work/mock.out" PRICEFETCH_STREAM_URL= | sed 's/.*=//')

mkdir -p "$work/home"
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
  "$target/debug/pricefetch" --base-url "$base" --stream-url "$streams" \
  --stream --serve 127.0.0.1:0 BTCUSDT ETHUSDT 2>"$work/exporter.err" &
pids+=($!)
exporter=$(wait_for "$work/exporter.err" '^serving http://' | sed -E 's#^serving http://([^/]+)/.*#\1#')
echo "exporter: http://$exporter/metrics"

port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: binance
    static_configs:
      - targets: ["$exporter"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
echo "prometheus: http://127.0.0.1:$port"

query() {
  python3 - "$port" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
port, q = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
try:
    with urllib.request.urlopen(url, timeout=2) as r:
        result = json.load(r)["data"]["result"]
except Exception:
    sys.exit(1)
for series in result:
    print(json.dumps(series["metric"], sort_keys=True), series["value"][1])
EOF
}

# Two scrapes, both healthy: `up` was 1 twice in the last minute.
for _ in $(seq 300); do
  scrapes=$(query 'sum_over_time(up{job="binance"}[1m])' | awk '{print $NF}' || true)
  if [ -n "$scrapes" ] && [ "${scrapes%%.*}" -ge 2 ]; then break; fi
  sleep 0.1
done
if [ -z "${scrapes:-}" ] || [ "${scrapes%%.*}" -lt 2 ]; then
  echo "scrape.sh: Prometheus did not scrape the exporter twice" >&2
  tail -20 "$work/prometheus.log" >&2
  exit 1
fi
echo "scrapes: $scrapes"
price=$(query 'binance_price{symbol="BTCUSDT"}')
if [ -z "$price" ]; then
  echo "scrape.sh: Prometheus has no BTCUSDT price" >&2
  exit 1
fi
echo "binance_price $price"
query 'pricefetch_stream_updates_total' | sed 's/^/pricefetch_stream_updates_total /'
