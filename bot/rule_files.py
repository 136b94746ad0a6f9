"""Reading the reviewable rule files in `data/` (red flags, context rules, question kinds,
screening questions, the example bank): each is checked when loaded, so a mistyped or unknown
key is an error that names the file and the key (as medspaCy's ConText loader does), never a
silent default that switches a safety rule off."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import RuleFileError


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RuleFileError(f"{path} can't be read: {e}") from None
    if not isinstance(data, dict):
        raise RuleFileError(f"{path} must hold a JSON object.")
    return data


def check_keys(path: Path, entry, where: str, required: dict[str, type | tuple], optional: dict[str, type | tuple] = {}):
    """`entry` (at `where` in the file) has every required key, no unknown one (keys starting
    with "_" are comments), and each value of the expected type."""
    if not isinstance(entry, dict):
        raise RuleFileError(f"{path}: {where} must be an object.")
    known = {**required, **optional}
    unknown = sorted(k for k in entry if k not in known and not k.startswith("_"))
    missing = [k for k in required if k not in entry]
    if unknown or missing:
        raise RuleFileError(f"{path}: " + "; ".join([f"unknown key '{where}.{k}'" for k in unknown]
                                                     + [f"missing key '{where}.{k}'" for k in missing]) + ".")
    for k, v in entry.items():
        if k in known and not isinstance(v, known[k]):
            raise RuleFileError(f"{path}: '{where}.{k}' has the wrong type ({type(v).__name__}).")


def compile_regex(path: Path, where: str, pattern: str, flags: int = 0) -> re.Pattern:
    try:
        return re.compile(pattern, flags)
    except (re.error, TypeError) as e:
        raise RuleFileError(f"{path}: '{where}' is not a valid regular expression ({e}).") from None
