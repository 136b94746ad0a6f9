"""Progress of a long build step: a tqdm bar in a terminal, plain lines in a log.

A bar redraws itself with carriage returns, which a log file keeps as one unreadable line
per redraw; so when stderr is not a terminal we print a line at every tenth of the way
instead ("... cleaning: 1,200 of 12,000 articles (10%)"). A step that is over within
`QUIET_SECONDS` shows nothing either way: a small corpus builds as quietly as before.
Off (the default for library calls and tests), it prints nothing.
"""
from __future__ import annotations

import sys
import time
from typing import Iterator, TypeVar

T = TypeVar("T")

#: Plain lines are printed at every this fraction of the way (and at the end).
LINE_EVERY = 0.1
QUIET_SECONDS = 2.0


class Progress:
    def __init__(self, total: int, what: str, unit: str, enabled: bool = True, stream=None):
        self.total, self.what, self.unit, self.done = total, what, unit, 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.started = time.monotonic()
        self.bar = None
        self.printed = False
        self.step = max(1, round(total * LINE_EVERY))
        if self.enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=what, unit=f" {unit}", file=self.stream, dynamic_ncols=True,
                            delay=QUIET_SECONDS)

    def update(self, n: int = 1) -> None:
        if not self.enabled:
            return
        before, self.done = self.done, self.done + n
        if self.bar is not None:
            self.bar.update(n)
            return
        crossed = self.done // self.step > before // self.step or self.done >= self.total
        if crossed and (self.printed or time.monotonic() - self.started >= QUIET_SECONDS):
            print(f"... {self.what}: {self.done:,} of {self.total:,} {self.unit} ({self.done / self.total:.0%})",
                  file=self.stream, flush=True)
            self.printed = True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(items: list[T], what: str, unit: str, enabled: bool, stream=None) -> Iterator[T]:
    """Yield `items`, showing progress as they are consumed."""
    with Progress(len(items), what, unit, enabled, stream) as p:
        for item in items:
            yield item
            p.update()
