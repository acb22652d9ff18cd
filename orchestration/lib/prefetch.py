"""Run a producer (here: fetching and parsing pages) in a thread, ahead of its consumer.

The consumer (validating and loading into DuckDB) spends most of its time in C++ code that
releases the GIL, so fetching the next pages meanwhile uses the machine's second core. The queue
is bounded, so memory stays flat however far ahead the producer could run.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _produce(items: Callable[[], Iterable[T]], buffer: queue.Queue[object],
             stop: threading.Event) -> None:
    """Put each item of `items()` into `buffer`, then _DONE (or the error), until `stop`."""
    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        for item in items():
            if not put(item):
                return
        put(_DONE)
    except BaseException as error:  # noqa: BLE001 - handed to the consumer
        put(_Failure(error))


def _drain(buffer: queue.Queue[object]) -> Iterator[T]:
    """The items a producer put, up to its _DONE; its error raised where it happened."""
    while True:
        value = buffer.get()
        if value is _DONE:
            return
        if isinstance(value, _Failure):
            raise value.error
        yield value  # type: ignore[misc]


def _start(items: Callable[[], Iterable[T]], depth: int,
           stop: threading.Event) -> tuple[queue.Queue[object], threading.Thread]:
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    thread = threading.Thread(target=_produce, args=(items, buffer, stop), name="prefetch",
                              daemon=True)
    thread.start()
    return buffer, thread


def prefetch(items: Iterable[T], *, depth: int) -> Iterator[T]:
    """Yield each item, produced in a background thread `depth` ahead.

    An exception in the producer is re-raised in the consumer at the point it happened. If the
    consumer stops early, the producer stops at its next item.
    """
    stop = threading.Event()
    buffer, thread = _start(lambda: items, depth, stop)
    try:
        yield from _drain(buffer)
    finally:
        stop.set()
        thread.join(timeout=30)


def prefetch_in_order(sources: Iterable[Callable[[], Iterable[T]]], *, workers: int,
                      depth: int) -> Iterator[T]:
    """The items of each source, source after source, with up to `workers` sources produced at
    once, each in a thread of its own `depth` ahead: campaigns fetched side by side (their
    latency overlaps) and still loaded one after another, in order.

    A source is called in its thread. An exception in one is re-raised where its items would
    have been; when the consumer stops, every producer stops at its next item.
    """
    if workers <= 1:
        yield from prefetch((item for source in sources for item in source()), depth=depth)
        return
    stop = threading.Event()
    pending = iter(sources)
    running: deque[tuple[queue.Queue[object], threading.Thread]] = deque()

    def start_next() -> None:
        source = next(pending, None)
        if source is not None:
            running.append(_start(source, depth, stop))

    try:
        for _ in range(workers):
            start_next()
        while running:
            yield from _drain(running[0][0])
            running.popleft()
            start_next()
    finally:
        stop.set()
        for _, thread in running:
            thread.join(timeout=30)
