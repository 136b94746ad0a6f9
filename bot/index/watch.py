"""Live reload: a background thread that loads a newly published index into a running bot.

A build publishes by renaming `index/CURRENT`; this thread looks at it every
`settings.reload_seconds` and swaps the bot's index when it names a new version. Replies
in flight finish on the index they started with (see `Chatbot.reload_if_published`).
"""
from __future__ import annotations

import logging
import threading

from .store import UnusableIndexError

log = logging.getLogger(__name__)


def watch_index(bot, interval: float, stop: threading.Event) -> threading.Thread:
    """Start watching; set `stop` to end the thread."""

    def run():
        refused = ""  # a version that failed to load is reported once, not every interval
        while not stop.wait(interval):
            try:
                if bot.reload_if_published():
                    log.warning("BackBot now answers from the index %s", bot.index.path.name)
            except UnusableIndexError as e:
                if str(e) != refused:
                    log.warning("a newly published index was not loaded; still serving %s: %s",
                                bot.index.path.name, e)
                    refused = str(e)
            except Exception:  # the page must keep answering whatever happens here
                log.exception("index reload failed; still serving %s", bot.index.path.name)

    thread = threading.Thread(target=run, name="backbot-index-watch", daemon=True)
    thread.start()
    return thread
