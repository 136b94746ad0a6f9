import json
import os
import subprocess
import sys
from conftest import ROOT



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
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0 and "backbot build" in p.stderr and "Traceback" not in p.stderr


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


def test_eval_prints_the_three_methods_and_writes_a_report(built_index, tmp_path):
    settings, _ = built_index
    report = tmp_path / "eval.html"
    # A slice of the seed questions, in scope and out: the whole set runs in `eval` itself and
    # in tests/tools/test_evaluation.py; here it is the command and its outputs that are tested.
    lines = (ROOT / "tests" / "data" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    lines += (ROOT / "tests" / "data" / "scope.jsonl").read_text(encoding="utf-8").splitlines()[:4]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = run("eval", "--index", str(settings.index_dir), "--questions", str(questions), "--json", "--report", str(report))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert [m["method"] for m in data["methods"]] == ["dense", "bm25", "hybrid"]
    for m in data["methods"]:
        for metric in ("success", "recall"):
            assert set(map(str, m["retrieval"][metric])) == {"1", "3", "5"}, metric
        assert m["latency_ms"] > 0
    html = report.read_text(encoding="utf-8")
    assert "<table>" in html and html.count("data:image/png;base64,") >= 1 and "hybrid" in html


def test_eval_on_another_corpus_and_questions(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "neck.md").write_text("---\ntitle: Neck care\n---\nGentle neck rolls can ease stiffness after long "
                                    "screen time. Do five slow rolls each way.\n", encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "how many neck rolls should I do", "expected": ["five slow rolls"]}\n'
                         '{"question": "how do I bake bread", "in_scope": false}\n', encoding="utf-8")
    p = run("eval", "--corpus", str(corpus), "--questions", str(questions))
    assert p.returncode == 0, p.stderr
    assert "| success@1 |" in p.stdout and "| recall@1 |" in p.stdout
    # One question, one relevant passage, found first: success@1 and recall@1 are both 1.
    assert "| hybrid | 1.000 | 1.000 | 1.000 | 1.000 |" in p.stdout
    p = run("eval", "--questions", str(tmp_path / "missing.jsonl"))
    assert p.returncode == 2 and "does not exist" in p.stderr and "Traceback" not in p.stderr


COMMANDS = ("serve", "build", "status", "ask", "eval", "feedback", "examples")


def test_every_command_has_help_and_usage_errors_exit_2():
    for command in COMMANDS:
        p = run(command, "--help")
        assert p.returncode == 0 and p.stdout.startswith(f"usage: backbot {command}"), (command, p.stderr)
    p = run("--help")
    assert p.returncode == 0 and all(c in p.stdout for c in COMMANDS) and "Exit codes" in p.stdout
    assert run("--version").stdout.startswith("backbot ")
    for wrong in (["nonsense"], ["ask"], ["build", "--no-such-option"], ["eval", "--methods", "telepathy"]):
        p = run(*wrong)
        assert p.returncode == 2 and "Traceback" not in p.stderr, (wrong, p.stderr)
    p = run("status", env={"BACKBOT_PORT": "eighty"})  # a bad setting is a usage error too
    assert p.returncode == 2 and "BACKBOT_PORT" in p.stderr


def test_status_check_exits_1_when_a_rebuild_is_needed(own_index):
    args = ("status", "--check", "--index", str(own_index.index_dir), "--corpus", str(own_index.corpus_dir))
    assert run(*args).returncode == 0
    (own_index.corpus_dir / "new.md").write_text("---\ntitle: New\n---\nA new article about posture at work.\n",
                                                 encoding="utf-8")
    p = run(*args)
    assert p.returncode == 1 and "Rebuild needed: yes" in p.stdout and "new.md" in p.stdout
