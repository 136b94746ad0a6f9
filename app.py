"""BackBot's web page: a thin Gradio layer over `bot.Chatbot` (no retrieval or safety logic here).

Run: `python app.py [--host 127.0.0.1] [--port 7860]` (or BACKBOT_HOST / BACKBOT_PORT).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.answer import DISCLAIMER, escape_markdown, page_markdown, phone_link  # noqa: E402
from bot.settings import Settings  # noqa: E402

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
"""


def shown_history(raw: list[dict]) -> list[dict]:
    """What the chat shows: the person's own words escaped, so nothing they paste renders
    as markup (Gradio would otherwise render `<img src=...>` in a user bubble)."""
    return [
        {"role": m["role"], "content": escape_markdown(m["content"]) if m["role"] == "user" else m["content"]}
        for m in raw
    ]


def build_page(bot):
    import gradio as gr

    limit = bot.settings.max_message_chars

    def respond(message: str, raw: list[dict]):
        message = message if isinstance(message, str) else ""
        if not message.strip():
            return "", gr.skip(), gr.skip()
        reply = bot.reply(message, raw)
        # Keep enough of a long message for triage in later turns, not all of it.
        raw = raw + [{"role": "user", "content": message[: limit * 10]},
                     {"role": "assistant", "content": page_markdown(reply)}]
        return "", shown_history(raw), raw

    with gr.Blocks(title="BackBot: back and neck pain information") as page:
        gr.Markdown(
            "# BackBot\nAnswers about back and neck pain, quoted from a small set of articles, with numbered sources. "
            "BackBot is **not** a doctor and can't diagnose you.",
            elem_classes="backbot-header",
        )
        gr.Markdown(
            f"**Please note:** {DISCLAIMER} If you have loss of bladder or bowel control, numbness around the groin, "
            f"new leg weakness, or pain after a serious fall or crash, "
            f"**{phone_link(bot.settings.emergency_number, 'call ' + escape_markdown(bot.settings.emergency_number))}** now.",
            elem_classes="backbot-disclaimer",
        )
        raw_history = gr.State([])  # the conversation as typed; per browser session
        chat = gr.Chatbot(label="Conversation with BackBot", height=520, sanitize_html=True, render_markdown=True)
        with gr.Row():
            box = gr.Textbox(placeholder="Ask about back or neck pain…", label="Your question", max_length=limit,
                             scale=8, autofocus=True)
            send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
        gr.Examples(EXAMPLES, inputs=box, label="Example questions")
        new = gr.Button("New conversation", variant="secondary")

        box.submit(respond, [box, raw_history], [box, chat, raw_history], api_name="chat", concurrency_limit=2)
        send.click(respond, [box, raw_history], [box, chat, raw_history], api_visibility="private", concurrency_limit=2)
        new.click(lambda: ("", [], []), None, [box, chat, raw_history], api_visibility="private")
    return page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Serve the BackBot chat page.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--index", help="index folder (default index/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env(host=args.host, port=args.port, index_dir=args.index)

    from bot import Chatbot
    from bot.index import IndexError_
    from bot.embedding import ModelError

    try:
        bot = Chatbot.load(settings=settings)
    except (IndexError_, ModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import gradio as gr

    theme = gr.themes.Soft(font=[gr.themes.Font("system-ui"), "sans-serif"], font_mono=["ui-monospace", "monospace"])
    from bot.watch import watch_index

    # A maintainer's `python -m bot build` is picked up without a restart.
    watch_index(bot, settings.reload_seconds, threading.Event())
    page = build_page(bot)
    page.queue(max_size=64, default_concurrency_limit=2)
    print(f"BackBot is ready at http://{settings.host}:{settings.port}", flush=True)
    page.launch(server_name=settings.host, server_port=settings.port, share=False, theme=theme, css=CSS,
                footer_links=[], quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
