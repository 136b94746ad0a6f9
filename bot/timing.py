"""Optional per-stage timing of a reply, for the benchmarks: pass a dict, get seconds per stage.

Callers that pass nothing pay one `if` per stage.
"""
from __future__ import annotations

import contextlib
import time


@contextlib.contextmanager
def stage(timings: dict | None, name: str):
    if timings is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
