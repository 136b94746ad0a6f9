"""The page in a real browser (Debian Chromium driven by Playwright), used the way a person
would: ask, open a source, click an example, trigger an emergency, start over, vote, use only
the keyboard, on a phone and a desktop. Screenshots are saved to test-artifacts/ for a person
to look at. Every wait is on page state, never a fixed sleep."""
import json
from urllib.parse import urlparse

import pytest

from conftest import ROOT, running_app

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT = 60_000  # ms; replies take milliseconds, the first one loads the model's kernels


@pytest.fixture(scope="module")
def votes_file(tmp_path_factory):
    return tmp_path_factory.mktemp("feedback") / "votes.jsonl"


@pytest.fixture(scope="module")
def server(built_index, votes_file):
    settings, _ = built_index
    with running_app(settings.index_dir, BACKBOT_FEEDBACK_FILE=str(votes_file)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(server, browser):
    """A fresh browser session on the page; every request it makes is recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.requests = []
    p.on("request", lambda r: p.requests.append(r.url))
    p.goto(server)
    p.get_by_label("Your question").wait_for()
    yield p
    context.close()


def ask(page, text):
    box = page.get_by_label("Your question")
    box.fill(text)
    box.press("Enter")


def replies(page):
    return page.locator("#backbot-chat .bot-row")


def wait_for_replies(page, n):
    """Wait until the chat shows `n` replies; return the last one."""
    replies(page).nth(n - 1).locator("text=not medical advice").wait_for(timeout=WAIT)
    return replies(page).nth(n - 1)


def test_answer_has_citation_markers_and_sources_that_open(page):
    page.get_by_text("not medical advice").first.wait_for()  # the disclaimer shows before any chat
    ask(page, "How do I stretch my upper back?")
    answer = wait_for_replies(page, 1)
    text = answer.inner_text()
    assert "[1]" in text and "Sources" in text
    source = answer.locator("details.backbot-source").first
    # One blockquote per passage: a source quoted from two places of its article shows both.
    passage = source.locator("blockquote").first
    assert not passage.is_visible()  # closed until the person opens it
    source.locator("summary").click()
    passage.wait_for(state="visible")
    # The sentences the answer quotes are the ones highlighted in the passages, word for word.
    quoted = source.locator("blockquote mark").all_inner_texts()
    assert quoted and all(" ".join(q.split()) in " ".join(text.split()) for q in quoted)
    assert source.locator("summary").inner_text().startswith("[1] ")
    page.screenshot(path=str(ARTIFACTS / "desktop-answer.png"), full_page=True)
    # A follow-up on the page is resolved from the conversation the page keeps, and says so.
    ask(page, "How long should I hold it?")
    follow_up = wait_for_replies(page, 2).inner_text()
    assert follow_up.startswith("Answering: How long should I hold the ")


def test_example_chip_asks_its_question(page):
    chip = page.get_by_role("button", name="What is a simple neck stretch?")
    chip.click()
    answer = wait_for_replies(page, 1)
    assert page.locator("#backbot-chat .user-row").first.inner_text().strip() == "What is a simple neck stretch?"
    assert "[1]" in answer.inner_text()


def test_emergency_comes_first_in_its_own_box_and_new_conversation_forgets_it(page):
    ask(page, "I fell off a ladder and now I can't feel my legs")
    alarm = wait_for_replies(page, 1)
    assert alarm.inner_text().strip().startswith("⚠️ Please get help now")  # first, before anything else
    assert "Sources" not in alarm.inner_text() and "Call 911" in alarm.inner_text()
    # Unmissable and announced: its own box, role=alert for screen readers, a link that dials.
    box = alarm.locator(".backbot-emergency[role=alert]")
    assert box.count() == 1 and box.locator("a[href='tel:911']").count() == 1
    assert box.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(185, 28, 28)"
    page.screenshot(path=str(ARTIFACTS / "desktop-emergency.png"), full_page=True)

    ask(page, "What stretches help my upper back?")
    assert "Reminder" in wait_for_replies(page, 2).inner_text()  # the conversation remembers the emergency

    page.get_by_role("button", name="New conversation").click()
    replies(page).first.wait_for(state="detached")
    assert page.locator("#backbot-chat .user-row").count() == 0
    ask(page, "What stretches help my upper back?")
    fresh = wait_for_replies(page, 1).inner_text()
    assert "Reminder" not in fresh and "[1]" in fresh  # the red flag went with the old conversation


def test_votes_are_recorded_with_the_question_and_cited_articles(page, votes_file, built_index):
    before = votes_file.read_text().splitlines() if votes_file.exists() else []
    ask(page, "Why does sitting all day make my back hurt?")
    answer = wait_for_replies(page, 1)
    cited = answer.locator("details.backbot-source summary").all_inner_texts()
    answer.get_by_role("button", name="Dislike").click()
    page.get_by_text("Thank you for the feedback.").first.wait_for(timeout=WAIT)
    rows = [json.loads(line) for line in votes_file.read_text().splitlines()[len(before):]]
    assert len(rows) == 1
    row = rows[0]
    assert row["question"] == "Why does sitting all day make my back hurt?" and row["vote"] == "down"
    # Exactly the articles the reply's Sources list (one entry per article), by their ids.
    settings, _ = built_index
    version = (settings.index_dir / "CURRENT").read_text().strip()
    title_of = {a["doc_id"]: a["title"] for a in map(json.loads, (settings.index_dir / version / "articles.jsonl").open())}
    assert [f"[{n}] {title_of[d]}" for n, d in enumerate(row["doc_ids"], 1)] == [c.strip() for c in cited]
    assert not {"ip", "client", "session", "user_agent", "user"} & set(row)


def test_injected_markup_renders_as_text_and_runs_nothing(page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ask(page, "<img src=x onerror=alert(1)> <script>alert(2)</script> ![x](http://example.com/x.png) how do I stretch my neck?")
    wait_for_replies(page, 1)
    assert page.locator(".user-row", has_text="onerror").count() == 1  # shown as text
    assert page.locator(".user-row", has_text="example.com/x.png").count() == 1
    assert dialogs == []
    assert page.locator(".message img, .message script").count() == 0


def test_page_loads_nothing_from_the_internet(page, server):
    ask(page, "How do I stretch my upper back?")
    wait_for_replies(page, 1)
    page.get_by_role("tab", name="About the sources").click()
    page.get_by_text("index built").wait_for()
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, page.requests


def test_about_tab_lists_the_articles_of_the_index(page, built_index):
    settings, _ = built_index
    version = (settings.index_dir / "CURRENT").read_text().strip()
    titles = [json.loads(line)["title"] for line in (settings.index_dir / version / "articles.jsonl").open()]
    page.get_by_role("tab", name="About the sources").click()
    table = page.locator("table", has_text="article")
    table.wait_for()
    shown = table.inner_text()
    assert titles and all(t in shown for t in titles)
    assert f"{len(titles)} articles" in page.get_by_text("index built").inner_text()


def test_keyboard_only(page):
    """Type, send, and start over without a mouse; every control has a name a screen reader reads."""
    focused = lambda: page.evaluate("document.activeElement.getAttribute('aria-label') || "  # noqa: E731
                                    "document.activeElement.innerText || document.activeElement.placeholder")
    page.keyboard.press("Tab")
    for _ in range(40):  # Tab from the top of the page to the question box
        if page.evaluate("document.activeElement.tagName") == "TEXTAREA":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("How do I stretch my upper back?")
    page.keyboard.press("Enter")
    wait_for_replies(page, 1)
    for _ in range(60):  # on to the New conversation button
        if focused() == "New conversation":
            break
        page.keyboard.press("Tab")
    assert focused() == "New conversation"
    page.keyboard.press("Enter")
    replies(page).first.wait_for(state="detached")
    unnamed = page.evaluate("""[...document.querySelectorAll('button, textarea, input, [role=tab]')]
        .filter(e => e.offsetParent !== null)
        .filter(e => !(e.getAttribute('aria-label') || e.innerText.trim() || e.labels?.length || e.title))
        .map(e => e.outerHTML.slice(0, 120))""")
    assert unnamed == []


def test_phone_width_fits_and_shows_the_start_of_the_reply(server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server)
    ask(page, "How do I stretch my upper back?")
    wait_for_replies(page, 1)
    page.screenshot(path=str(ARTIFACTS / "phone-answer.png"), full_page=True)
    ask(page, "I can't control my bladder and my back hurts")
    alarm = wait_for_replies(page, 2)
    # Nothing wider than the phone, and the escalation's heading is in view in the chat, not
    # scrolled past to the end of the reply.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    heading = alarm.get_by_role("heading").first
    assert "Please get help now" in heading.inner_text()
    chat = page.locator("#backbot-chat").bounding_box()
    page.wait_for_function("""([y0, y1]) => {
        const h = [...document.querySelectorAll('#backbot-chat .bot-row')].pop().querySelector('h2');
        const r = h.getBoundingClientRect(); return r.top >= y0 && r.bottom <= y1; }""",
                           arg=[chat["y"], chat["y"] + chat["height"]], timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "phone-emergency.png"))
    context.close()


def test_long_messages_are_cut_on_the_server(server):
    """The browser's max length is a convenience; the server cuts what an API client sends."""
    from gradio_client import Client

    conversation = Client(server, verbose=False).predict("my upper back is stiff " * 5000, api_name="/chat")[1]
    last = conversation[-1]["content"]
    last = last if isinstance(last, str) else " ".join(p.get("text", "") for p in last)
    assert "first 2,000 characters" in last


def test_root_path_for_a_reverse_proxy(built_index):
    """Behind a proxy at /backbot, the page must build its links under that prefix."""
    import urllib.request

    settings, _ = built_index
    with running_app(settings.index_dir, BACKBOT_ROOT_PATH="/backbot") as url:
        config = json.load(urllib.request.urlopen(url + "config", timeout=10))
    assert config["root"].endswith("/backbot")


def test_bad_server_settings_are_one_clear_line(built_index):
    import subprocess
    import sys

    settings, _ = built_index
    p = subprocess.run([sys.executable, "app.py", "--index", str(settings.index_dir), "--root-path", "backbot"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "root_path must start with '/'" in p.stderr


def test_screening_questions_come_first_with_one_tap_answers(page):
    ask(page, "I've had sciatica down my left leg for a week after lifting boxes, what stretches can I do?")
    first = wait_for_replies(page, 1)
    text = first.inner_text()
    assert text.strip().startswith("First, a quick safety check") and "[1]" in text  # the answer still comes
    # One-tap answers under the reply: each question's yes, and a no.
    no = page.get_by_role("button", name="No, none of these")
    no.wait_for(timeout=WAIT)
    assert page.get_by_role("button", name="Yes: I have numbness between my legs or around my bottom").count() == 1
    page.screenshot(path=str(ARTIFACTS / "desktop-screening.png"), full_page=True)
    page.get_by_role("button", name="Yes: I have numbness between my legs or around my bottom").click()
    alarm = wait_for_replies(page, 2)
    assert alarm.locator(".backbot-emergency[role=alert]").count() == 1
    assert "Call 911" in alarm.inner_text()
    # The options belong to the newest reply only: the answered question's buttons are gone.
    assert page.get_by_role("button", name="No, none of these").count() == 0


def test_a_no_to_screening_is_thanked_and_the_conversation_goes_on(page):
    ask(page, "my back went suddenly this morning bending over, the pain is excruciating, what can I do?")
    wait_for_replies(page, 1)
    page.get_by_role("button", name="No, none of these").click()
    thanks = wait_for_replies(page, 2).inner_text()
    assert "reassuring" in thanks and "Please get help now" not in thanks
