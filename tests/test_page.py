"""The page in a real browser (Debian Chromium driven by Playwright): ask, see the answer with
a [1] marker and sources; trigger an emergency and see the escalation first. Screenshots are
saved to test-artifacts/ for a person to look at."""
from pathlib import Path

import pytest

from conftest import running_app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(built_index):
    settings, _ = built_index
    with running_app(settings.index_dir) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def ask(page, text):
    box = page.get_by_label("Your question")
    box.fill(text)
    box.press("Enter")


def test_question_gets_cited_answer_and_emergency_is_escalated(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.get_by_text("not medical advice").first.wait_for()  # disclaimer visible before any chat
    ask(page, "How do I stretch my upper back?")
    answer = page.locator(".bot-row", has_text="Sources").last
    answer.wait_for(timeout=60_000)
    assert "[1]" in answer.inner_text() and "not medical advice" in answer.inner_text()
    page.screenshot(path=str(ARTIFACTS / "desktop-answer.png"), full_page=True)

    ask(page, "I fell off a ladder and now I can't feel my legs")
    alarm = page.locator(".bot-row", has_text="Please get help now").last
    alarm.wait_for(timeout=60_000)
    last = alarm.inner_text().strip()
    assert last.startswith("⚠️ Please get help now")  # first, before anything else
    assert "Sources" not in last and "Call 911" in last
    # Unmissable and announced: its own box, role=alert for screen readers, a link that dials.
    box = alarm.locator(".backbot-emergency[role=alert]")
    assert box.count() == 1 and box.locator("a[href='tel:911']").count() == 1
    colour = box.evaluate("e => getComputedStyle(e).borderTopColor")
    assert colour == "rgb(185, 28, 28)"
    page.screenshot(path=str(ARTIFACTS / "desktop-emergency.png"), full_page=True)


def test_injected_markup_renders_as_text(server, browser):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server)
    ask(page, "<img src=x onerror=alert(1)> <script>alert(2)</script> how do I stretch my neck?")
    page.locator(".bot-row", has_text="not medical advice").last.wait_for(timeout=60_000)
    assert page.locator(".user-row", has_text="onerror").count() == 1  # shown as text
    assert dialogs == []
    assert page.locator(".message img[src='x'], .message script").count() == 0
    page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
