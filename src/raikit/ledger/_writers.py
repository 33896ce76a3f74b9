"""Who is writing: the identity of a ledger writer process, and whether it is gone.

A run is opened by one process and closed by the same process. If that process is killed, the
run stays ``running`` forever unless someone can tell that its writer is dead. A writer is
identified by its host name, its pid and, where the system says, the time the process started (so
a recycled pid is not mistaken for the writer). A writer on *this* host is gone when no process
has its pid, or the process with that pid started at another time, or is a zombie. Writers on
other hosts cannot be checked from here and are never declared gone.
"""

from __future__ import annotations

import hashlib
import os
import socket

__all__ = ["host_tag", "this_writer", "writer_is_gone"]


def _start_time(pid: int) -> tuple[str, str] | None:
    """``(state, start time in clock ticks since boot)`` of a process, from ``/proc`` (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (name) "; the name may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


def this_writer() -> dict:
    """The identity of the current process as a ledger writer."""
    pid = os.getpid()
    stat = _start_time(pid)
    return {"host": socket.gethostname(), "pid": pid, "start": stat[1] if stat else None}


def host_tag() -> str:
    """A short, file-name-safe tag of this host."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def writer_is_gone(writer: dict | None) -> bool:
    """True when ``writer`` ran on this host and that process no longer runs."""
    if not isinstance(writer, dict) or writer.get("host") != socket.gethostname():
        return False
    pid = writer.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.path.isdir("/proc/self"):
        stat = _start_time(pid)
        if stat is None or stat[0] in ("Z", "X"):  # no such process, or a dead one not reaped
            return True
        return writer.get("start") is not None and stat[1] != writer["start"]
    if os.name != "posix":  # on Windows, os.kill(pid, 0) would send CTRL+C: do not guess
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, owned by someone else
        return False
    return False
