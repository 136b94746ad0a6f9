"""Votes from the page: what a line holds (and does not), and the maintainer's summary."""
import json
import subprocess
import sys
import threading

from bot.tools.feedback import Vote, record_vote, summarise, summary_text
from conftest import ROOT



def test_a_vote_line_holds_the_question_doc_ids_and_vote_and_nothing_identifying(tmp_path):
    path = tmp_path / "new-folder" / "votes.jsonl"
    record_vote(path, Vote("how do I stretch my neck?", ("001-neck", "004-thoracic"), "down", "question", True))
    row = json.loads(path.read_text())
    assert row["question"] == "how do I stretch my neck?" and row["doc_ids"] == ["001-neck", "004-thoracic"]
    assert row["vote"] == "down"
    assert set(row) == {"time", "question", "doc_ids", "intent", "answered", "vote"}  # no ip, session, agent


def test_summary_counts_votes_and_ranks_down_voted_questions(tmp_path):
    path = tmp_path / "votes.jsonl"
    for q, v in [("what is SMR", "down"), ("What is  SMR", "down"), ("neck stretch", "down"), ("neck stretch", "up"),
                 ("thanks", "up")]:
        record_vote(path, Vote(q, ("d1",) if v == "down" else (), v))
    with path.open("a") as f:
        f.write('{"vote": "down", "question": "cut off\n')  # a line cut by a crash
    s = summarise(path)
    assert (s.up, s.down, s.unreadable_lines) == (2, 3, 1)
    # The same question typed differently counts once; most down-voted first.
    assert s.down_questions == [("what is smr", 2), ("neck stretch", 1)]
    assert s.down_docs == [("d1", 3)]
    text = summary_text(s)
    assert "5 (2 up, 3 down" in text and "1 line(s) could not be read" in text


def test_concurrent_votes_never_interleave(tmp_path):
    path = tmp_path / "votes.jsonl"
    threads = [threading.Thread(target=lambda n=n: [record_vote(path, Vote(f"q{n} " + "x" * 5000, ("d",), "up"))
                                                    for _ in range(20)]) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 160


def test_feedback_command(tmp_path):
    path = tmp_path / "votes.jsonl"
    run = lambda *a: subprocess.run([sys.executable, "-m", "bot", "feedback", *a], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    p = run("--file", str(path))
    assert p.returncode == 0 and "No votes yet" in p.stdout
    record_vote(path, Vote("why does my back hurt after sitting", ("002",), "down"))
    p = run("--file", str(path))
    assert p.returncode == 0 and "why does my back hurt after sitting" in p.stdout and "1 down" in p.stdout
    p = run("--file", str(tmp_path))  # a folder, not a file
    assert p.returncode == 1 and "Traceback" not in p.stderr and "not a file" in p.stderr
