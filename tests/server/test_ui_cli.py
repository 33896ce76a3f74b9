"""`raikit ui` as a real process: prints a token URL, serves with it, refuses without it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from raikit.ledger import Ledger


@pytest.mark.slow
def test_ui_command_serves_with_the_printed_token(tmp_path):
    Ledger(tmp_path / "l")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "raikit.cli",
            "ui",
            "--ledger",
            str(tmp_path / "l"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/login?token=" in line
        url = line.split("open ", 1)[1].strip()
        token = url.split("token=", 1)[1]
        for _ in range(100):  # wait until the server accepts connections
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and "No runs yet" in response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ui_command_without_ledger_fails_cleanly(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "raikit.cli", "ui", "--ledger", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "No ledger" in out.stderr
