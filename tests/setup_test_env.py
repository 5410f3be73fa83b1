"""System set-up the test suite needs beyond the venv (run by `make test` before pytest).

Today that is one thing: Debian's `chromium`, for the leaderboard's end-to-end test
(tests/leaderboard/test_e2e.py). The script is idempotent (nothing happens when a browser is already
there) and never fails the test run: when it cannot install (not root, no apt-get, no network) it
says why and exits 0, and the e2e test then skips naming the missing browser.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

# Where the e2e test looks for a browser, in order (SLIMBENCH_CHROMIUM overrides).
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium", "chromium-browser")
APT_TIMEOUT_S = 900


def find_chromium() -> str | None:
    override = os.environ.get("SLIMBENCH_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return path
    return None


def _apt(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S)


def install_chromium() -> tuple[str | None, str]:
    """(path, message): the browser's path when present or installed, else None and the reason."""
    found = find_chromium()
    if found:
        return found, f"chromium present: {found}"
    if shutil.which("apt-get") is None:
        return None, "apt-get not found; install Chromium yourself (the e2e test skips without it)"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return None, "not root; run `sudo apt-get install -y chromium` (the e2e test skips without it)"
    try:
        install = _apt("install", "-y", "--no-install-recommends", "chromium")
        if install.returncode != 0:  # stale package lists are the usual cause: refresh once and retry
            _apt("update")
            install = _apt("install", "-y", "--no-install-recommends", "chromium")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"apt-get install chromium failed: {exc}"
    if install.returncode != 0:
        tail = (install.stderr or install.stdout).strip().splitlines()[-3:]
        return None, "apt-get install chromium failed: " + " | ".join(tail)
    found = find_chromium()
    return found, (f"installed chromium: {found}" if found else "apt-get succeeded but no chromium binary found")


def main() -> int:
    path, message = install_chromium()
    print(f"setup_test_env: {message}", file=sys.stderr if path is None else sys.stdout)
    return 0  # never fail the run; the e2e test skips with the reason when the browser is missing


if __name__ == "__main__":
    sys.exit(main())
