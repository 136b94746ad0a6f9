"""Every error BackBot reports to a person: one base class, a few named kinds. The message is
one sentence that says what is wrong and, where there is one, the fix. The command line and the
page catch `BackBotError`; anything else is a bug and is logged as one."""
from __future__ import annotations


class BackBotError(Exception):
    """Something BackBot can't do, said in one sentence."""


class UsageError(BackBotError, ValueError):
    """A command was given something it cannot use: a missing input file, an unknown method."""


class SettingsError(UsageError):
    """A setting (BACKBOT_*, an option) has a value that cannot be used."""


class RuleFileError(BackBotError, ValueError):
    """A data file of rules (red flags, context rules, example bank, screening questions, answer
    kinds, word lists) is malformed; the message names the file and the key or line."""


class CorpusError(BackBotError):
    """The corpus as a whole can't be used (missing folder, no articles)."""


class ArticleError(CorpusError):
    """One article can't be read; the build skips it with this reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path} {reason}")
        self.path, self.reason = path, reason


class UnusableIndexError(BackBotError):
    """The index can't be used (none yet, damaged, another model's); the message names the fix."""


class BuildError(BackBotError):
    """The build can't go on; the live index is untouched."""


class ModelError(BackBotError):
    """The embedding model can't be loaded."""


class FeedbackError(BackBotError):
    """The feedback file can't be read or written; the message says which file and why."""
