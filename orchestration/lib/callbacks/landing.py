"""The landing log: callbacks on disk, fsynced, before the receiver answers 200.

Why files and not the warehouse: DuckDB lets one process hold the warehouse for writing, and the
daily run holds it for minutes, while the provider waits 5 seconds for a 200. Why segment files
and not SQLite: appending one line to an open file and fsyncing a batch of them (group commit)
is the least work per callback, DuckDB reads NDJSON segments in bulk (read_json), and a segment
is the natural unit of "loaded exactly once" (docs/measurements.md has the figures).

Layout under CALLBACK_LANDING_DIR:
  open/     the segment each receiver process is appending to (flock-ed while it is alive)
  ready/    closed segments, waiting for the loader
  loaded/   segments the warehouse holds (recorded in raw.callback_segments); kept for audit

A segment is closed when it reaches a size or an age, or when its receiver stops. A segment left
in open/ by a receiver that died (kill -9) is closed by the next receiver or loader: cut back to
its last whole line (a torn line was never answered 200, so the provider sends it again), then
moved to ready/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import itertools
import os
import re
import time
from pathlib import Path

DEFAULT_MAX_SEGMENT_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_SEGMENT_SECONDS = 30.0
SEGMENT_NAME = re.compile(r"^\d{8}T\d{12}-\d+-\d{6}\.ndjson$")
_sequence = itertools.count()


def folders(root: Path) -> tuple[Path, Path, Path]:
    """(open, ready, loaded) under `root`, created if missing."""
    paths = (root / "open", root / "ready", root / "loaded")
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    return paths


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LandingLog:
    """Appends batches of lines to the open segment of this process, durably.

    Not thread-safe: one writer (the receiver's commit task) calls it."""

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_SEGMENT_BYTES,
                 max_seconds: float = DEFAULT_MAX_SEGMENT_SECONDS) -> None:
        self.root = root
        self.open_dir, self.ready_dir, _ = folders(root)
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._fd: int | None = None
        self._path: Path | None = None
        self._bytes = 0
        self._opened_at = 0.0

    def append(self, lines: list[bytes]) -> None:
        """Write `lines` and fsync them; when this returns they survive a crash."""
        if not lines:
            return
        if self._fd is None:
            self._open_segment()
        fd = self._fd
        data = b"".join(lines)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:
            # Disk full or failing: none of this batch is answered 200, so none of it may stay
            # (a torn line mid-segment would make the whole segment unreadable).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._bytes)
            raise
        self._bytes += len(data)
        if self._bytes >= self.max_bytes:
            self.close_segment()

    def close_if_old(self) -> bool:
        """Close the open segment if it is older than the age limit (called when idle)."""
        if self._fd is not None and time.monotonic() - self._opened_at >= self.max_seconds:
            self.close_segment()
            return True
        return False

    def close_segment(self) -> None:
        """Move the open segment to ready/ (its lines were fsynced when written)."""
        if self._fd is None or self._path is None:
            return
        os.rename(self._path, self.ready_dir / self._path.name)
        _fsync_dir(self.ready_dir)
        _fsync_dir(self.open_dir)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = self._path = None
        self._bytes = 0

    def _open_segment(self) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.open_dir / f"{stamp}-{os.getpid()}-{next(_sequence) % 10**6:06d}.ndjson"
        # Locked under a name recovery ignores, then renamed: a loader never finds it unlocked.
        hidden = path.with_name(f".{path.name}.new")
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(hidden, path)
        _fsync_dir(self.open_dir)
        self._fd, self._path = fd, path
        self._bytes = 0
        self._opened_at = time.monotonic()


def recover_abandoned(root: Path) -> list[Path]:
    """Close the open segments whose receiver is gone (no flock held): cut each back to its last
    whole line and move it to ready/. Safe beside a live receiver, whose segment stays locked."""
    open_dir, ready_dir, _ = folders(root)
    moved = []
    for path in _segments(open_dir):
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue  # its receiver just closed it into ready/
        try:
            if not _lock_if_abandoned(fd):
                continue  # a live receiver is writing it
            size = os.fstat(fd).st_size
            keep = _last_newline_end(fd, size)
            if keep < size:
                os.ftruncate(fd, keep)
                os.fsync(fd)
            os.rename(path, ready_dir / path.name)
            moved.append(ready_dir / path.name)
        finally:
            os.close(fd)
    if moved:
        _fsync_dir(ready_dir)
    return moved


def _last_newline_end(fd: int, size: int) -> int:
    """The length of the file up to and including its last newline."""
    position = size
    while position > 0:
        start = max(0, position - 65536)
        chunk = os.pread(fd, position - start, start)
        index = chunk.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        position = start
    return 0


def _segments(folder: Path) -> list[Path]:
    """The segment files of a folder, oldest first (names sort by creation time)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if SEGMENT_NAME.fullmatch(p.name))


def _lock_if_abandoned(fd: int) -> bool:
    """Take the segment's lock if no live receiver holds it (the kernel drops a dead one's)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def ready_segments(root: Path) -> list[Path]:
    """Closed segments waiting to be loaded, oldest first."""
    return _segments(folders(root)[1])


def mark_loaded(root: Path, segment: Path) -> None:
    _, _, loaded_dir = folders(root)
    os.replace(segment, loaded_dir / segment.name)



def waiting_segments(root: Path) -> int:
    """How many segments wait to be loaded: closed ones, and open ones whose receiver is gone
    (an open segment of a live receiver is loaded after it closes, within its age limit)."""
    abandoned = 0
    for path in _segments(root / "open"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            abandoned += _lock_if_abandoned(fd)
        finally:
            os.close(fd)  # closing releases the lock taken to look
    return len(_segments(root / "ready")) + abandoned


# Callbacks loaded into raw whose marts have not been published yet: the file is written before
# a refresh loads segments and removed once a run has published, so a refresh killed between
# the two is finished by the next one (the segments it loaded no longer wait in ready/).
UNPUBLISHED_MARKER = "loaded-not-published"


def mark_unpublished(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    marker = root / UNPUBLISHED_MARKER
    with marker.open("w") as file:
        file.write("callbacks loaded into the warehouse; their marts are not published yet\n")
        file.flush()
        os.fsync(file.fileno())


def clear_unpublished(root: Path) -> None:
    (root / UNPUBLISHED_MARKER).unlink(missing_ok=True)


def has_unpublished(root: Path) -> bool:
    return (root / UNPUBLISHED_MARKER).exists()
