"""What a run ran on: code version (git commit, dirty flag), Python, platform and package versions."""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata

__all__ = ["capture_environment", "code_version"]

_PACKAGES = (
    "raikit",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "fairlearn",
    "plotly",
    "skops",
    "torch",
    "shap",
    "opendp",
    "opacus",
)


def code_version(path: str = ".") -> dict:
    """The git commit of ``path`` and whether the work tree has uncommitted changes.

    Outside a git repository (or without git) both are ``None``: unknown, not invented.
    """

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", path, *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


@lru_cache(maxsize=1)
def _packages() -> dict:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def capture_environment() -> dict:
    """Python, platform and the versions of the packages that shape results."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": dict(_packages()),
    }
