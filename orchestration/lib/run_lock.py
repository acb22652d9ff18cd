"""One writer per warehouse file: an exclusive OS lock beside it, held for a whole run.

DuckDB itself lets only one process open a file for writing, but only while the file is open: two
runs that take turns between steps would interleave (the second run's ingest landing inside the
first run's build). So every run, from the CLI, the Dagster UI or the schedule, takes this lock
before its first write and holds it to its end. The lock is `flock` on `<warehouse>.run-lock`:
the kernel releases it when the holder exits, even on `kill -9`, so a crash never leaves a stale
lock. The file also says who holds it, for the message the next run prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusyError(RuntimeError):
    """Another run holds the warehouse; the message names it."""


_held: dict[Path, tuple[int, int]] = {}  # lock path -> (file descriptor, depth)
_guard = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".run-lock")


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder.get("pid"):
        return "another run"
    return f"another run (pid {holder['pid']}, started {holder.get('started_at', '?')})"


@contextmanager
def run_lock(warehouse: Path, *, wait_seconds: float = 0.0,
             poll_seconds: float = 0.2, what: str | None = None) -> Iterator[None]:
    """Hold the warehouse's run lock; wait up to `wait_seconds` for another run to finish, then
    raise WarehouseBusyError. Re-entrant within a process (the CLI takes it around a run whose
    resources take it again)."""
    path = lock_path(warehouse.resolve())
    with _guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        raise WarehouseBusyError(
                            f"{_holder(path)} holds {what or f'WAREHOUSE_PATH {warehouse}'}: "
                            "wait for it to finish, or stop it"
                        ) from None
                    time.sleep(poll_seconds)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({
                "pid": os.getpid(),
                "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }).encode())
            _held[path] = (fd, 1)
    try:
        yield
    finally:
        with _guard:
            fd, depth = _held[path]
            if depth > 1:
                _held[path] = (fd, depth - 1)
            else:
                del _held[path]
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def holder_if_busy(warehouse: Path) -> str | None:
    """Who holds the warehouse's run lock ("another run (pid N, started ...)"), or None when it
    is free. Only looks: the lock is released at once."""
    path = lock_path(warehouse.resolve())
    if path in _held:
        return f"this process (pid {os.getpid()})"
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
