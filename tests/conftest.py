"""Shared fixtures: one index built from corpus/ into a temporary folder per test session."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def settings_for(tmp_path_factory):
    from bot.settings import Settings

    def make(**kw):
        return Settings.from_env(env={}, **kw)

    return make


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, settings_for):
    """(settings, summary) for an index built from the real corpus."""
    from bot.index import build_index

    index_dir = tmp_path_factory.mktemp("index")
    settings = settings_for(index_dir=index_dir, corpus_dir=ROOT / "corpus")
    return settings, build_index(settings)


@pytest.fixture(scope="session")
def chatbot(built_index):
    from bot import Chatbot

    settings, _ = built_index
    return Chatbot.load(settings=settings)


@pytest.fixture()
def corpus_copy(tmp_path):
    dest = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", dest)
    return dest


@pytest.fixture()
def own_index(tmp_path, settings_for, corpus_copy):
    settings = settings_for(index_dir=tmp_path / "idx", corpus_dir=corpus_copy)
    from bot.index import build_index

    build_index(settings)
    return settings
