#!/usr/bin/env python3
"""The cost of a real link: pricefetch and its peers over TLS through a latency relay.

Started by `scripts/bench.sh wan`. A relay on 127.0.0.1 forwards TCP to the HTTPS mock and
delays every chunk by half a round trip each way, so TCP and TLS handshakes pay the round trips
they pay on a real link. Each case is one cold process (RUNS times, median) fetching 100
symbols; its floor counts round trips: TCP 1 + TLS 1.3 1 + one per request round.
"""
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from harness import BIN, Mock, generated_symbols

RUNS = int(os.environ.get("RUNS", "3"))
RTTS = [int(x) for x in os.environ.get("RTTS_MS", "50 200").split()]
N = 100


class Relay:
    """A TCP forwarder that delays each chunk by `delay` seconds, in order, each way."""

    def __init__(self, target_port, delay):
        self.target_port, self.delay = target_port, delay
        self.port = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                queue.put_nowait((self.loop.time() + self.delay, data))
        except ConnectionError:
            pass
        queue.put_nowait((0, None))
        await sender

    async def _client(self, reader, writer):
        try:
            # The SYN/SYN-ACK round trip the relay's own connect does not pay.
            await asyncio.sleep(2 * self.delay)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)


AIOHTTP = """
import asyncio, sys, aiohttp, ssl
async def main(base, ca, symbols):
    ctx = ssl.create_default_context(cafile=ca)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=16)) as s:
        async def one(sym):
            async with s.get(f"{base}/api/v3/ticker/price", params={"symbol": sym}) as r:
                return (await r.json())["price"]
        prices = await asyncio.gather(*(one(x) for x in symbols))
    print(len(prices))
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
"""

REQUESTS = """
import sys, requests
base, ca, symbols = sys.argv[1], sys.argv[2], sys.argv[3:]
with requests.Session() as s:
    prices = [s.get(f"{base}/api/v3/ticker/price", params={"symbol": x}, verify=ca).json()["price"]
              for x in symbols]
print(len(prices))
"""


def timed(cmd):
    start = time.perf_counter()
    code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=dict(os.environ, PRICEFETCH_STATE_DIR=tempfile.gettempdir()))
    if code != 0:
        sys.exit(f"wan: {' '.join(cmd[:6])}… exited {code}")
    return time.perf_counter() - start


def main():
    symbols = generated_symbols(N)
    ca = tempfile.NamedTemporaryFile(suffix=".pem", delete=False).name
    rows = []
    failed = False
    for h1 in (False, True):
        with Mock("--symbols", str(N), "--tls-ca", ca, *(["--http1-only"] if h1 else [])) as mock:
            port = int(mock.url.rsplit(":", 1)[1])
            for rtt in RTTS:
                relay = Relay(port, rtt / 2000)
                base = f"https://127.0.0.1:{relay.port}"
                pf = [BIN, "--base-url", base, "--cacert", ca, "-q", "-f", "plain",
                      "--max-weight", "100000"]
                rounds_each = 1 + -(-(N - 1) // 16)  # the first request alone, then 16 at a time
                cases = [] if h1 else [
                    ("pricefetch (default: one batched request)", pf + symbols, 3, 1.1),
                    ("pricefetch --sync (one batched request)", pf + ["--sync"] + symbols, 3, None),
                    ("pricefetch --strategy each -c 16, h2", pf + ["--strategy", "each", "-c", "16"]
                     + symbols, 2 + rounds_each, None),
                    ("python aiohttp gather (16 connections)",
                     [sys.executable, "-c", AIOHTTP, base, ca] + symbols, 2 + -(-N // 16), None),
                    ("python requests loop", [sys.executable, "-c", REQUESTS, base, ca] + symbols,
                     2 + N, None),
                    ("curl (one batched request)",
                     ["curl", "-sf", "--cacert", ca, "-G", f"{base}/api/v3/ticker/price",
                      "--data-urlencode", "symbols=" + "[" + ",".join(f'"{s}"' for s in symbols)
                      + "]"], 3, None),
                ]
                if h1:
                    cases = [("pricefetch --strategy each -c 16, HTTP/1.1",
                              pf + ["--strategy", "each", "-c", "16"] + symbols, 2 + rounds_each,
                              None)]
                for name, cmd, floor_rtts, target in cases:
                    if cmd[0] == "curl" and not any(
                            os.access(os.path.join(d, "curl"), os.X_OK)
                            for d in os.environ.get("PATH", "").split(":")):
                        continue
                    walls = [timed(cmd) for _ in range(RUNS)]
                    wall = statistics.median(walls)
                    floor = floor_rtts * rtt / 1000
                    ok = target is None or wall / floor <= target
                    failed |= not ok
                    rows.append((rtt, name, wall, floor, target, ok))
    print(f"## A real link: 100 symbols over TLS 1.3 through a latency relay, cold processes, "
          f"medians of {RUNS}\n")
    print("| RTT | client | wall | floor (round trips) | wall / floor | target |")
    print("|---|---|---|---|---|---|")
    for rtt, name, wall, floor, target, ok in rows:
        print(f"| {rtt} ms | {name} | {wall * 1000:.0f} ms | {floor * 1000:.0f} ms "
              f"({round(floor * 1000 / rtt)}) | {wall / floor:.2f} | "
              f"{'<= ' + str(target) if target else '-'}{'' if ok else ' MISSED'} |")
    default = {rtt: wall for rtt, name, wall, _, _, _ in rows if name.startswith("pricefetch (default")}
    peers = [(rtt, name, wall) for rtt, name, wall, _, _, _ in rows if not name.startswith("pricefetch")]
    behind = [(r, n) for r, n, w in peers if w <= default.get(r, 0)]
    print(f"\nThe default run ahead of every peer: {'yes' if not behind else 'no: ' + str(behind)}\n")
    return 1 if failed or behind else 0


if __name__ == "__main__":
    sys.exit(main())
