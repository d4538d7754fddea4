"""Shared by the bench and soak scripts: paths, and the mock Binance as a context manager."""
import json
import os
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_dir():
    """Where cargo puts its builds: CARGO_TARGET_DIR, a config's build.target-dir, or target/."""
    try:
        meta = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT, check=True, capture_output=True, text=True)
        return json.loads(meta.stdout)["target_directory"]
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as e:
        sys.exit(f"cannot find cargo's target directory (cargo metadata failed: {e})")


TARGET = target_dir()
BIN = os.path.join(TARGET, "release", "pricefetch")
MOCK = os.path.join(TARGET, "release", "mock-binance")
for _path in (BIN, MOCK):
    if not os.access(_path, os.X_OK):
        sys.exit(f"{_path} is missing: run scripts/bench.sh or scripts/soak.sh, which build it")


class Mock:
    """Runs target/release/mock-binance with `args`; `url` is its base URL."""

    def __init__(self, *args):
        self.args = [MOCK, "--port", "0", *args]
        self.proc = None
        self.url = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        # The first line is `export PRICEFETCH_BASE_URL=http://127.0.0.1:PORT`.
        self.url = self.proc.stdout.readline().strip().split("=", 1)[-1]
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
