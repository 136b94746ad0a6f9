import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_ask_json_emergency_has_escalation_and_no_exercises(built_index):
    settings, _ = built_index
    p = run("ask", "--json", "--index", str(settings.index_dir), "I can't control my bladder and my back hurts")
    assert p.returncode == 0, p.stderr
    reply = json.loads(p.stdout)
    assert reply["escalation"]["level"] == "emergency"
    assert reply["citations"] == [] and reply["disclaimer"] in reply["text"]


def test_missing_index_is_one_clear_line(tmp_path):
    p = run("ask", "--index", str(tmp_path / "none"), "hello")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "python -m bot build" in p.stderr and "Traceback" not in p.stderr


def test_build_on_any_folder(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "neck.md").write_text("---\ntitle: Neck care\nurl: https://example.org/neck\n---\n"
                                    "Gentle neck rolls can ease stiffness after long screen time. Do five slow rolls each way.\n",
                                    encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    p = run("build", "--quiet", "--corpus", str(corpus), "--index", str(tmp_path / "idx"))
    assert p.returncode == 0, p.stderr
    assert "1 articles" in p.stdout and "warning: skipped empty.txt: is empty" in p.stderr
    p = run("ask", "--json", "--index", str(tmp_path / "idx"), "how do I ease a stiff neck from screen time?")
    reply = json.loads(p.stdout)
    assert reply["answered"] and reply["citations"][0]["title"] == "Neck care"
