"""BackBot's web page: a thin Gradio layer over `bot.Chatbot` (no retrieval or safety logic here).

Run: `backbot serve [--host 127.0.0.1] [--port 7860] [--root-path /backbot]` (or `python app.py`
in a checkout; or BACKBOT_HOST / BACKBOT_PORT / BACKBOT_ROOT_PATH, or Gradio's own
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT). The page loads nothing from the internet.
Besides the page, it serves `/ask`: the reply as data for other sites and apps (`bot/api.py`).
"""
from __future__ import annotations

import logging
import os
import sys
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402  (at module level: the like handler's gr.LikeData hint must resolve)

from .compose.answer import DISCLAIMER, escape_markdown, phone_link  # noqa: E402
from .compose.api import reply_data  # noqa: E402
from .understand.dialogue import clean_history  # noqa: E402
from .tools.feedback import Vote, record_vote  # noqa: E402
from .compose.page_view import about_sources_markdown, page_markdown  # noqa: E402
from .settings import Settings  # noqa: E402
from .understand.red_flags import warning_signs  # noqa: E402

log = logging.getLogger("backbot.page")

EXAMPLES = [
    "How do I stretch my upper back?",
    "Why does sitting all day make my back hurt?",
    "What is a simple neck stretch?",
    "When should I see a doctor about back pain?",
]

# System fonts only: the page must not fetch anything from the internet.
CSS = """
.backbot-header h1 { margin-bottom: 0.2em; }
.backbot-disclaimer { border-left: 4px solid #b45309; background: #fffbeb; padding: 0.6em 0.9em; border-radius: 6px; color: #1f2937; }
.backbot-disclaimer a { color: #991b1b; }
/* Escalations must be unmissable and not rely on colour alone: a thick border, a heading
   with an icon, and role=alert so screen readers announce them. Contrast >= 7:1. */
.backbot-alert { border: 3px solid; border-radius: 8px; padding: 0.4em 1em 0.6em; margin-bottom: 0.8em; color: #111827; }
.backbot-alert h2 { margin-top: 0.3em; font-size: 1.25em; }
.backbot-alert a[href^="tel:"] { font-weight: 700; text-decoration: underline; color: inherit; font-size: 1.1em; }
.backbot-emergency { border-color: #b91c1c; background: #fef2f2; }
.backbot-emergency h2, .backbot-emergency a[href^="tel:"] { color: #991b1b; }
.backbot-urgent { border-color: #b45309; background: #fffbeb; }
.backbot-urgent h2 { color: #92400e; }
.backbot-crisis { border-color: #1d4ed8; background: #eff6ff; }
.backbot-crisis h2, .backbot-crisis a[href^="tel:"] { color: #1e3a8a; }
.backbot-reminder { border-width: 2px; padding-top: 0.6em; }
.dark .backbot-alert { color: #111827; }
/* Sources: one line per source until opened. */
.backbot-sources { margin-top: 0.6em; font-size: 0.95em; }
.backbot-source { border: 1px solid #d1d5db; border-radius: 6px; padding: 0.25em 0.6em; margin: 0.3em 0; }
.backbot-source summary { cursor: pointer; font-weight: 600; }
.backbot-source summary:focus-visible { outline: 2px solid #1d4ed8; outline-offset: 2px; }
.backbot-source blockquote { margin: 0.4em 0; padding-left: 0.7em; border-left: 3px solid #9ca3af; }
.backbot-source mark { background: #fef08a; color: inherit; }
.backbot-source-where { margin: 0.3em 0; color: #4b5563; font-size: 0.9em; overflow-wrap: anywhere; }
@media (max-width: 480px) {
  .backbot-header p, .backbot-disclaimer { font-size: 0.9em; }
  .backbot-header h1 { font-size: 1.5em; }
}
#backbot-chat .bot-row { scroll-margin-top: 2.5em; }  /* clear of the chat's label */
.backbot-chips { flex-wrap: wrap; gap: 0.4em; }
.backbot-chips button { border-radius: 999px !important; flex: 0 1 auto !important; min-width: 0 !important; }
"""


# After a reply, bring the *start* of the newest answer into view: an escalation or the
# answer's first sentence must not be scrolled past on a phone (Gradio would show the end).
SHOW_NEWEST_REPLY = """() => {
  const rows = document.querySelectorAll('#backbot-chat .bot-row');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'start', behavior: 'instant'});
}"""


def shown_history(raw: list[dict]) -> list[dict]:
    """What the chat shows: the person's own words escaped, so nothing they paste renders
    as markup (Gradio would otherwise render `<img src=...>` in a user bubble); the newest
    reply's one-tap answers (screening questions) as the chat's options."""
    shown = []
    for i, m in enumerate(raw):
        entry = {"role": m["role"], "content": escape_markdown(m["content"]) if m["role"] == "user" else m["content"]}
        if i == len(raw) - 1 and m.get("options"):
            entry["options"] = m["options"]
        shown.append(entry)
    return shown


def banner_markdown(settings: Settings) -> str:
    """The disclaimer and when to call for help; the signs themselves come from the red-flag
    catalogue (the one source of truth), listed under it."""
    call = phone_link(settings.emergency_number, "Call " + escape_markdown(settings.emergency_number))
    return f"**Please note:** {DISCLAIMER} **{call}** now if you have any of the emergency warning signs below."


def warning_signs_markdown(settings: Settings) -> str:
    emergency = "\n".join(f"- {escape_markdown(s)}" for s in warning_signs("emergency"))
    urgent = "\n".join(f"- {escape_markdown(s)}" for s in warning_signs("urgent"))
    return (f"**Call {escape_markdown(settings.emergency_number)} or go to an emergency department for:**\n{emergency}\n\n"
            f"**See a doctor the same day for:**\n{urgent}")


def build_page(bot):
    settings = bot.settings
    limit = settings.max_message_chars

    def respond(message: str, raw: list[dict]):
        message = message if isinstance(message, str) else ""
        if not message.strip():
            return "", gr.skip(), gr.skip()
        reply = bot.reply(message, raw)
        # The assistant entry keeps what a vote needs (cited doc ids); the chat shows only content.
        raw = raw + [
            # Keep enough of a long message for triage in later turns, not all of it.
            {"role": "user", "content": message[: limit * 10]},
            {"role": "assistant", "content": page_markdown(reply), "intent": reply.intent,
             "answered": reply.answered, "doc_ids": list(dict.fromkeys(c.doc_id for c in reply.citations)),
             "state": reply.state(), "options": reply.options()},
        ]
        return "", shown_history(raw), raw

    def ask(message: str, history: list[dict] | None = None) -> dict:
        """One turn for an integrator: the reply as data (text, answered, intent, citations,
        escalation, disclaimer) and `history`, the conversation including this turn with each
        reply's state, to send back with the next message."""
        message = message if isinstance(message, str) else ""
        history = clean_history(history or [], max_chars=limit * 10)
        return reply_data(bot.reply(message, history), settings, message[: limit * 10], history)

    def tapped(raw: list[dict], data: gr.SelectData):
        return respond(data.value if isinstance(data.value, str) else "", raw)

    def vote(raw: list[dict], data: gr.LikeData):
        index = data.index if isinstance(data.index, int) else -1
        if not (0 <= index < len(raw)) or raw[index]["role"] != "assistant" or not isinstance(data.liked, bool):
            return
        question = next((m["content"] for m in reversed(raw[:index]) if m["role"] == "user"), "")
        entry = raw[index]
        try:
            record_vote(settings.feedback_file, Vote(
                question=question[:limit], doc_ids=tuple(entry.get("doc_ids", ())), vote="up" if data.liked else "down",
                intent=entry.get("intent", ""), answered=bool(entry.get("answered"))))
        except OSError as e:  # a full disk must not break the chat; the maintainer sees it in the log
            log.error("could not record a vote in %s: %s", settings.feedback_file, e)
            gr.Warning("Sorry, your vote could not be saved.")
            return
        gr.Info("Thank you for the feedback.")

    with gr.Blocks(title="BackBot: back and neck pain information") as page:
        gr.Markdown(
            "# BackBot\n"
            "Answers about back and neck pain, **quoted word for word** from a small set of articles, "
            "with numbered sources you can open. BackBot is **not** a doctor: it can't examine or diagnose you, "
            "and it doesn't advise on medicines.",
            elem_classes="backbot-header",
        )
        gr.Markdown(banner_markdown(settings), elem_classes="backbot-disclaimer")
        with gr.Accordion("Warning signs: when to get help now", open=False, elem_id="backbot-warning-signs"):
            gr.Markdown(warning_signs_markdown(settings))
        raw_history = gr.State([])  # the conversation as typed, with vote data; per browser session
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = gr.Chatbot(label="Conversation with BackBot", height=520, sanitize_html=True,
                                  elem_id="backbot-chat", autoscroll=False,
                                  render_markdown=True, feedback_options=("Like", "Dislike"),
                                  placeholder="Ask a question below, or pick an example.",
                                  buttons=["copy", "copy_all"], layout="panel")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about back or neck pain…", label="Your question",
                                     max_length=limit, scale=8, autofocus=True, submit_btn=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
                gr.Markdown("Example questions:")
                with gr.Row(elem_classes="backbot-chips"):
                    chips = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                new = gr.Button("New conversation", variant="secondary")
            with gr.Tab("About the sources", id="about") as about_tab:
                about = gr.Markdown()

        outputs = [box, chat, raw_history]
        limits = {"concurrency_limit": settings.concurrency_limit}
        # `/chat` is the page's own (it returns the rendered chat); integrators use `/ask`.
        box.submit(respond, [box, raw_history], outputs, api_name="chat", api_visibility="undocumented",
                   **limits).then(js=SHOW_NEWEST_REPLY)
        send.click(respond, [box, raw_history], outputs, api_visibility="private", **limits).then(js=SHOW_NEWEST_REPLY)
        for chip in chips:
            chip.click(respond, [chip, raw_history], outputs, api_visibility="private", **limits).then(
                js=SHOW_NEWEST_REPLY)
        # Everything the conversation knew goes, red flags included: triage reads only this history.
        new.click(lambda: ("", [], []), None, outputs, api_visibility="private")
        chat.clear(lambda: ("", []), None, [box, raw_history], api_visibility="private")  # the chat's own trash button
        chat.like(vote, [raw_history], None, api_visibility="private")
        # A one-tap answer to the screening questions is sent as the person's next message.
        gr.api(ask, api_name="ask", **limits)
        chat.option_select(tapped, [raw_history], outputs,
                           api_visibility="private", **limits).then(js=SHOW_NEWEST_REPLY)
        # Read at each visit and tab opening, so a newly published index shows without a restart.
        # Not queued: the list is cheap, and a busy queue must not leave the tab empty.
        page.load(lambda: about_sources_markdown(bot.index), None, about, api_visibility="private", queue=False)
        about_tab.select(lambda: about_sources_markdown(bot.index), None, about, api_visibility="private", queue=False)
    return page


def configure_logging(settings: Settings) -> None:
    """Message text is logged only when a maintainer turns debug logging on, and then the log says so."""
    if settings.debug_log:
        logging.getLogger("bot").setLevel(logging.DEBUG)
        log.warning("Debug logging is on (BACKBOT_DEBUG_LOG): messages people type are written to this log.")


def serve(settings: Settings) -> int:
    """Load the index and serve the page until stopped (`backbot serve`)."""
    from . import Chatbot
    from .index.watch import watch_index

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bot = Chatbot.load(settings=settings)
    configure_logging(settings)
    theme = gr.themes.Soft(font=[gr.themes.Font("system-ui"), "sans-serif"], font_mono=["ui-monospace", "monospace"])
    # A maintainer's `backbot build` is picked up without a restart.
    watch_index(bot, settings.reload_seconds, threading.Event())
    page = build_page(bot)
    page.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency_limit)
    print(f"BackBot is ready at http://{settings.host}:{settings.port}{settings.root_path}/", flush=True)
    page.launch(server_name=settings.host, server_port=settings.port, root_path=settings.root_path or None,
                share=False, theme=theme, css=CSS, footer_links=[], quiet=True)
    return 0


def main(argv=None) -> int:
    """`python app.py [options]` is `backbot serve [options]`."""
    from .__main__ import main as command

    return command(["serve", *(sys.argv[1:] if argv is None else argv)])
