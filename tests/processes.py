"""The process tree, read from /proc (the tests that count or kill worker processes)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def parents() -> dict[int, int]:
    """Every live process id and its parent's."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def children(pid: int) -> list[int]:
    return [p for p, parent in parents().items() if parent == pid]


def owner_of_local_port(port: int, candidates: list[int]) -> int | None:
    """Which of ``candidates`` holds the TCP socket whose local port is ``port`` (a
    database connection's client side, as the server reports it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()) in inodes:
                        return pid
    return None
