"""Run a producer (here: fetching and parsing pages) in a thread, ahead of its consumer.

The consumer (validating and loading into DuckDB) spends most of its time in C++ code that
releases the GIL, so fetching the next pages meanwhile uses the machine's second core. The queue
is bounded, so memory stays flat however far ahead the producer could run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], *, depth: int) -> Iterator[T]:
    """Yield each item, produced in a background thread `depth` ahead.

    An exception in the producer is re-raised in the consumer at the point it happened. If the
    consumer stops early, the producer stops at its next item.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            put(_Failure(error))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=30)
