"""Work made ahead in a thread while the caller uses what came before it, and work kept for a
moment when the caller would only wait.

Worth it only where both sides let go of the GIL (zlib, Polars, file reads): then two cores work
at once instead of one waiting for the other.
"""

from __future__ import annotations

import importlib
import queue
import threading
from contextvars import ContextVar
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


def ahead(items: Iterator[T], depth: int = 2, name: str = "kamrules-ahead") -> Iterator[T]:
    """``items``, taken from their iterator in a thread named ``name``, at most ``depth`` ahead of
    the caller. An error of the iterator is raised in the caller. When the caller stops (an
    error of its own, or closing this generator), the thread ends after the item it is making,
    before this returns: whatever the iterator reads from is not closed under it."""
    handed: queue.Queue = queue.Queue(maxsize=depth)
    done, stop = object(), threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                handed.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(done)
        except BaseException as exc:  # raised in the caller
            offer(exc)

    maker = threading.Thread(target=make, name=name, daemon=True)
    maker.start()
    try:
        while True:
            item = handed.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        maker.join()


#: Work a stage hands to a later one's idle moments (:func:`while_waiting`), e.g. imports the
#: render stage needs: the ledger reader runs it when it must wait for calamine, which parses a big
#: sheet for seconds without the GIL while this thread has nothing to do.
SPARE_WORK: ContextVar[list[Callable[[], None]] | None] = ContextVar("spare_work", default=None)


def while_waiting() -> None:
    """Run (and remove) the work in :data:`SPARE_WORK`: the caller is about to wait anyway."""
    work = SPARE_WORK.get()
    while work:
        work.pop(0)()


def importer(modules: Iterable[str]) -> Callable[[], None]:
    """Work that imports ``modules``. A module that fails to import is left for its stage, which
    imports it again and reports the error."""
    def load() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception:
                continue
    return load
