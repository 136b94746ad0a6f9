"""Live reload: a newly published index is picked up by a running bot and a running page,
replies in flight finish on the index they started with, and a bad new version is refused
while the old one keeps answering."""
import shutil
import threading
import time

from bot import Chatbot
from bot.index.build import build_index
from bot.index.store import load_index, publish
from bot.index.watch import watch_index
from conftest import ROOT, running_app

NIH = ROOT.parent / "shared" / "data" / "medquad" / "back-articles"
QUESTION = "What is spinal stenosis?"
NEW_DOC = "4-spinal-stenosis"


def cites_new_article(reply) -> bool:
    return any(c.doc_id == NEW_DOC for c in reply.citations)


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_running_bot_picks_up_a_new_article(own_index):
    bot = Chatbot.load(settings=own_index)
    assert not cites_new_article(bot.reply(QUESTION))
    stop = threading.Event()
    watch_index(bot, 0.1, stop)
    try:
        shutil.copy(NIH / f"{NEW_DOC}.xml", own_index.corpus_dir)
        version = build_index(own_index).version
        wait_until(lambda: bot.index.path.name == version, what="the reload")
        assert cites_new_article(bot.reply(QUESTION))
    finally:
        stop.set()


def test_a_reply_in_flight_finishes_on_the_index_it_started_with(own_index, monkeypatch):
    import bot.chat as chat_module

    bot = Chatbot.load(settings=own_index)
    old_chunks = {c.chunk_id for c in bot.index.chunks}
    entered, release = threading.Event(), threading.Event()
    real_understand = chat_module.understand

    def slow_understand(*args):
        # Hold the reply after it started and before it searches: the reload happens here.
        entered.set()
        release.wait(60)
        return real_understand(*args)

    monkeypatch.setattr(chat_module, "understand", slow_understand)
    result = {}
    worker = threading.Thread(target=lambda: result.update(reply=bot.reply(QUESTION)))
    worker.start()
    assert entered.wait(60)
    shutil.copy(NIH / f"{NEW_DOC}.xml", own_index.corpus_dir)
    build_index(own_index)
    assert bot.reload_if_published()  # swapped while the reply is half-way through
    release.set()
    worker.join(60)
    assert result["reply"].intent != "error"
    assert {c.chunk_id for c in result["reply"].citations} <= old_chunks
    assert cites_new_article(bot.reply(QUESTION))  # the next message uses the new index


def test_a_broken_new_version_is_refused_and_the_old_one_keeps_answering(own_index, caplog):
    bot = Chatbot.load(settings=own_index)
    serving = bot.index.path.name
    broken = own_index.index_dir / "v99990101T000000000000Z"
    shutil.copytree(load_index(own_index).path, broken)
    (broken / "vectors.faiss").write_bytes(b"not faiss")
    publish(own_index.index_dir, broken.name)
    stop = threading.Event()
    watch_index(bot, 0.05, stop)
    try:
        wait_until(lambda: "was not loaded" in caplog.text, what="the refusal to be logged")
        assert "corrupt" in caplog.text and bot.index.path.name == serving
        assert bot.reply("How do I stretch my upper back?").answered
    finally:
        stop.set()


def test_the_running_page_answers_from_a_newly_built_index(own_index):
    from gradio_client import Client

    def ask() -> str:
        conversation = Client(url, verbose=False).predict(QUESTION, api_name="/chat")[1]
        last = conversation[-1]["content"]
        return last if isinstance(last, str) else " ".join(p.get("text", "") for p in last)

    with running_app(own_index.index_dir, BACKBOT_RELOAD_SECONDS="0.5") as url:
        assert "Spinal Stenosis" not in ask()
        shutil.copy(NIH / f"{NEW_DOC}.xml", own_index.corpus_dir)
        build_index(own_index)
        wait_until(lambda: "Spinal Stenosis" in ask(), timeout=60, what="the page to answer from the new article")
