"""The loop every event source poller shares, as Lambda's own pollers run for a mapping."""

from __future__ import annotations

import logging
import threading
from typing import ClassVar

POLL_SECONDS = 0.5


class Poller:
    """Calls `_poll_once` every POLL_SECONDS, or at once when woken (a write to the source).

    Subclasses set their own state first, then call `super().__init__()`, which starts the
    thread. An exception of a type in `stop_on` ends the loop (the server is stopping);
    anything else is logged and the next tick tries again.
    """

    thread_name: ClassVar[str] = "poller"
    stop_on: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._log = logging.getLogger(f"localcloud.{self.thread_name}")
        threading.Thread(target=self._run, daemon=True, name=self.thread_name).start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                self._poll_once()
            except self.stop_on:
                return
            except Exception:
                self._log.exception("%s: poll failed", self.thread_name)

    def _poll_once(self) -> None:
        raise NotImplementedError
