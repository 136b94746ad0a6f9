"""Shared fixtures: one index built from corpus/ into a temporary folder per test session."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
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
    from bot.index.build import build_index

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
    from bot.index.build import build_index

    build_index(settings)
    return settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppURL(str):
    """The running app's URL, with its process id."""
    pid: int


@contextlib.contextmanager
def running_app(index_dir, log_file=None, port_by="option", **env):
    """`backbot serve` on a free loopback port, serving `index_dir`; yields its URL (with
    `.pid`) once it answers HTTP. Its output goes to `log_file` when given. The port is given
    as `--port`, or with `port_by="gradio"` only in Gradio's own GRADIO_SERVER_PORT. Extra
    keyword arguments become environment variables."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **env}
    command = [sys.executable, "-m", "bot", "serve", "--index", str(index_dir)]
    if port_by == "gradio":
        env["GRADIO_SERVER_PORT"] = str(port)
    else:
        command += ["--port", str(port)]
    out = open(log_file, "w") if log_file else subprocess.PIPE
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    url = AppURL(f"http://127.0.0.1:{port}/")
    url.pid = proc.pid
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app exited: {proc.stdout.read() if proc.stdout else Path(log_file).read_text()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("app did not start within 120 s")
                time.sleep(0.3)  # polling for the port, not waiting on page state
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_file:
            out.close()


@pytest.fixture(scope="session")
def reliability_report():
    """Figures the reliability tests collect; written to docs/reliability.md at the end of a
    run of all of tests/test_reliability.py."""
    report: dict = {}
    yield report
    # Only a run of the whole module rewrites the page: `-k` runs leave the last full figures.
    if {"hostile", "page", "load", "queue", "faults"} <= set(report) and len(report["faults"]) >= 8:
        from reliability_doc import write_reliability_doc

        write_reliability_doc(report, ROOT / "docs" / "reliability.md")
