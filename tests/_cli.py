"""raikit's command line run as a user runs it: ``python -m raikit.cli`` in a subprocess.

The subprocess gets a bare environment (no user configuration, an empty ``PATH``, a wide
terminal) that keeps ``PYTHONPATH`` as absolute paths, so a source checkout tested with
``PYTHONPATH=src`` runs its own CLI, not another raikit installed in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys

ENV = {"COLUMNS": "200", "PATH": ""} | (
    {"PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in path.split(os.pathsep) if p)}
    if (path := os.environ.get("PYTHONPATH"))
    else {}
)


def run(*args: str, cwd=None, env: dict[str, str] | None = None, timeout: float = 300):
    """Run ``raikit *args`` in ``cwd``; the finished process with its text output captured.

    ``env`` adds variables to :data:`ENV`.
    """
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=ENV | (env or {}),
    )
