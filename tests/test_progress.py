"""Build progress: a bar in a terminal, plain lines in a log, nothing when off or quick."""
import io

import pytest

from bot import progress
from bot.progress import Progress, track


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture()
def no_quiet_start(monkeypatch):
    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)


def test_a_log_gets_a_plain_line_every_tenth(no_quiet_start):
    log = io.StringIO()
    assert list(track(list(range(50)), "cleaning", "articles", True, log)) == list(range(50))
    lines = log.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in log.getvalue()
    assert lines[0] == "... cleaning: 5 of 50 articles (10%)"
    assert lines[-1] == "... cleaning: 50 of 50 articles (100%)"


def test_updates_in_steps_cross_each_tenth_once(no_quiet_start):
    log = io.StringIO()
    with Progress(1000, "embedding chunks", "chunks", True, log) as p:
        for n in (256, 256, 256, 232):
            p.update(n)
    assert [l.split(": ")[1] for l in log.getvalue().splitlines()] == [
        "256 of 1,000 chunks (26%)", "512 of 1,000 chunks (51%)", "768 of 1,000 chunks (77%)", "1,000 of 1,000 chunks (100%)"]


def test_a_terminal_gets_a_bar(no_quiet_start):
    term = Terminal()
    list(track(list(range(20)), "cleaning", "articles", True, term))
    out = term.getvalue()
    assert "\r" in out and "cleaning" in out and "20/20" in out


def test_off_or_quick_prints_nothing():
    log = io.StringIO()
    list(track(list(range(20)), "cleaning", "articles", False, log))
    list(track(list(range(20)), "cleaning", "articles", True, log))  # done well within QUIET_SECONDS
    assert log.getvalue() == ""
