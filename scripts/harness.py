"""Shared by the bench and soak scripts: paths, and the mock Binance as a context manager."""
import json
import os
import subprocess
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "pricefetch")
MOCK = os.path.join(ROOT, "target", "release", "examples", "mock_binance")


class Mock:
    """Runs target/release/examples/mock_binance with `args`; `url` is its base URL."""

    def __init__(self, *args):
        self.args = [MOCK, *args]
        self.proc = None
        self.url = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()

    def stats(self):
        """What the mock saw: requests, max_in_flight, weight, by_status."""
        with urllib.request.urlopen(self.url + "/__mock/stats") as r:
            return json.load(r)


def generated_symbols(n):
    """The names the mock generates with --symbols N."""
    return [f"SYM{i:04}USDT" for i in range(1, n + 1)]
