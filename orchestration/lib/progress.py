"""Progress of a pull on a terminal: campaigns, pages, records, requests and the time left.

On a real account the rate limit sets the pace, so the time left is worked out from requests:
the requests still to come (the average per campaign so far, times the campaigns left) at the
configured rate. Off a terminal (the Dagster UI, a scheduled run, a pipe) nothing is drawn: the
run's log has a line per campaign instead.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn


class PullProgress:
    """A progress bar over one channel's campaigns (a no-op off a terminal)."""

    def __init__(self, channel: str, campaigns: int, *, rate_per_minute: int,
                 stream: TextIO | None = None, force: bool = False) -> None:
        stream = stream or sys.stderr
        self.enabled = campaigns > 0 and (force or stream.isatty())
        self.channel, self.campaigns, self.rate = channel, campaigns, rate_per_minute
        self.done = self.pages = self.records = self.requests = 0
        self.started = time.monotonic()
        self._progress: Progress | None = None
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                console=Console(file=stream, force_terminal=force or None),
                transient=False,
            )
            self._task = self._progress.add_task(f"{channel} campaigns", total=campaigns,
                                                 detail="")

    def __enter__(self) -> PullProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._progress is not None:
            self._refresh()
            self._progress.stop()

    def page(self, records: int, requests: int) -> None:
        self.pages += 1
        self.records += records
        self.requests = requests
        self._refresh()

    def campaign(self, requests: int) -> None:
        self.done += 1
        self.requests = requests
        self._refresh()

    def seconds_left(self) -> float | None:
        """The rest of the run at the configured rate (at the pace so far when unlimited)."""
        if not self.done:
            return None
        left = self.requests / self.done * (self.campaigns - self.done)
        if self.rate > 0:
            return left / self.rate * 60
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.campaigns - self.done)

    def describe(self) -> str:
        left = self.seconds_left()
        eta = "" if left is None else f", about {_duration(left)} left"
        pace = f" at {self.rate}/min" if self.rate > 0 else ""
        return (f"{self.pages:,} pages, {self.records:,} records, {self.requests:,} "
                f"requests{eta}{pace if eta else ''}")

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, detail=self.describe())


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
