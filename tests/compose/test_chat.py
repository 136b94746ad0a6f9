"""End-to-end through `Chatbot`: the contract other tools rely on."""
import re

import numpy as np
import pytest

from bot.compose.answer import DISCLAIMER

EXERCISE_WORDS = re.compile(r"\b(stretch\w*|exercis\w*|yoga|foam roller|massage)\b", re.I)


def test_contract(chatbot):
    r = chatbot.reply("How do I stretch my upper back?", history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}])
    assert r.answered and r.escalation is None and r.disclaimer == DISCLAIMER and DISCLAIMER in r.text
    assert [c.number for c in r.citations] == list(range(1, len(r.citations) + 1))
    for c in r.citations:
        assert c.doc_id and c.title and c.source and c.passage
        assert f"[{c.number}]" in r.text
    hits = chatbot.search("thoracic stretch", k=5)
    assert len(hits) == 5 and hits[0].score >= hits[-1].score
    assert all(h.doc_id and h.chunk_id and h.title and h.text for h in hits)


def test_answer_sentences_are_verbatim_from_their_cited_passage(chatbot):
    r = chatbot.reply("What causes upper back pain?")
    by_number = {c.number: c for c in r.citations}
    assert r.sentences
    for sentence, n in r.sentences:
        assert sentence in by_number[n].passage


@pytest.mark.parametrize("message,intent", [
    ("hello", "greeting"), ("thanks!", "thanks"), ("bye", "goodbye"),
    ("what can you do?", "capabilities"), ("", "empty"), ("   \n ", "empty"),
])
def test_small_talk_is_short_and_carries_the_disclaimer(chatbot, message, intent):
    r = chatbot.reply(message)
    assert r.intent == intent and not r.answered and not r.citations and DISCLAIMER in r.text


@pytest.mark.parametrize("message", [
    "How do I bake sourdough bread?", "What's the best laptop for programming?",
    "How many ibuprofen can I take for back pain?", "Is back pain in pregnancy normal?",
])
def test_out_of_scope_is_honest_and_cites_nothing(chatbot, message):
    r = chatbot.reply(message)
    assert not r.answered and r.citations == [] and "don't cover" in r.text and DISCLAIMER in r.text


def test_emergency_gets_escalation_and_no_self_care(chatbot):
    r = chatbot.reply("I can't control my bladder and my back hurts, which stretches should I do?")
    assert r.escalation.level == "emergency" and r.escalation.reasons
    assert r.citations == [] and not r.answered
    assert not EXERCISE_WORDS.search(r.text.replace("don't try exercises or stretches", ""))
    assert r.text.index("Please get help now") < r.text.index(DISCLAIMER)


def test_urgent_comes_before_the_answer(chatbot):
    r = chatbot.reply("I have a fever and my upper back hurts, what stretches help?")
    assert r.escalation.level == "urgent" and r.answered
    assert r.text.index("see a doctor today") < r.text.index("[1]")


def test_emergency_number_is_a_setting(built_index):
    import dataclasses

    from bot import Chatbot

    settings, _ = built_index
    bot = Chatbot.load(settings=dataclasses.replace(settings, emergency_number="999", crisis_line="116 123"))
    r = bot.reply("I fell off a ladder and my back hurts")
    assert "[Call 999](tel:999)" in r.text  # one tap to dial on a phone
    assert "(tel:116123)" in bot.reply("I want to end my life").text


def test_page_shows_escalations_in_their_own_box(chatbot):
    from bot.compose.page_view import page_markdown

    cases = {
        "I can't feel anything when I wipe": "backbot-emergency",
        "I have a fever and my back hurts, what stretches help?": "backbot-urgent",
        "I keep thinking about killing myself": "backbot-crisis",
    }
    for message, style in cases.items():
        r = chatbot.reply(message)
        shown = page_markdown(r)
        assert f'class="backbot-alert {style}" role="alert"' in shown
        # The box holds the escalation and nothing else; the rest of the reply follows it.
        box = shown[shown.index("<div"): shown.index("</div>")]
        assert r.alert in box and "Sources" not in box and r.disclaimer not in box
    r = chatbot.reply("How do I stretch my upper back?")
    assert r.alert == "" and 'role="alert"' not in page_markdown(r)
    h = [{"role": "user", "content": "I can't control my bladder"}, {"role": "assistant", "content": "..."}]
    assert "backbot-reminder" in page_markdown(chatbot.reply("what stretches help?", h))


def test_huge_message_is_truncated_with_a_note(chatbot):
    r = chatbot.reply("my upper back is stiff from sitting " * 3000)
    assert "first 2,000 characters" in r.text and DISCLAIMER in r.text
    # A red flag at the very end of a long message still counts.
    r = chatbot.reply("my back is stiff. " * 5000 + "I can't control my bladder.")
    assert r.escalation and r.escalation.level == "emergency"


@pytest.mark.parametrize("history", [None, "junk", [1, None, {"role": "user"}, {"content": "x"}], [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]])
def test_malformed_history_never_raises(chatbot, history):
    r = chatbot.reply("what helps a stiff neck?", history=history)
    assert DISCLAIMER in r.text


def test_an_internal_error_becomes_an_apology(chatbot, monkeypatch):
    monkeypatch.setattr(chatbot, "search", lambda *a, **k: 1 / 0)
    r = chatbot.reply("how do I stretch my neck?")
    assert r.intent == "error" and "Sorry" in r.text and DISCLAIMER in r.text


def test_corpus_text_cannot_become_markup(chatbot):
    from bot.compose.answer import escape_markdown

    assert "<" not in escape_markdown("<img src=x onerror=alert(1)>").replace("\\<", "")
    assert "](" not in escape_markdown("![x](http://evil.example/a.png)").replace("\\](", "")


def test_after_an_emergency_no_self_care_until_help_is_reported(chatbot):
    h = [{"role": "user", "content": "my back hurts"}, {"role": "assistant", "content": "..."},
         {"role": "user", "content": "also I can't feel anything when I wipe"}, {"role": "assistant", "content": "..."}]
    r = chatbot.reply("how do I stretch my back?", h)
    assert r.escalation.level == "emergency" and r.escalation.ongoing and r.citations == []
    assert "Reminder" in r.text and DISCLAIMER in r.text
    h += [{"role": "user", "content": "how do I stretch my back?"}, {"role": "assistant", "content": "..."},
          {"role": "user", "content": "I called 911, the ambulance is on its way"}, {"role": "assistant", "content": "..."}]
    r = chatbot.reply("how do I stretch my upper back?", h)
    assert r.escalation is None and r.answered


def test_saying_you_got_help_is_acknowledged_not_treated_as_a_question(chatbot):
    h = [{"role": "user", "content": "also I can't feel anything when I wipe"}, {"role": "assistant", "content": "..."}]
    r = chatbot.reply("I called 911, the ambulance is coming", h)
    assert r.intent == "help_obtained" and r.escalation is None and not r.citations
    assert "glad" in r.text and "don't cover" not in r.text and DISCLAIMER in r.text
    # Without an earlier emergency it is just a message like any other.
    assert chatbot.reply("I called my doctor about my back").intent != "help_obtained"


def test_warning_signs_question_leads_with_the_signs(chatbot):
    r = chatbot.reply("what are the warning signs of cauda equina?")
    assert r.escalation is None
    assert r.text.startswith("**Warning signs to know about.**") and "bladder" in r.text
    assert "don't cover that" not in r.text


def test_a_one_sentence_question_goes_through_the_model_once(chatbot, monkeypatch):
    """Triage's meaning detector, the search and the answer's scoring each need the question's
    vector; each forward pass costs about as much as the rest of the reply together."""
    question = "How do I ease a stiff upper back after painting the ceiling all weekend?"
    batches = []
    real = chatbot.model.encode

    def counting(texts, *args, **kwargs):
        batches.append([texts] if isinstance(texts, str) else list(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(chatbot.model, "encode", counting)
    r = chatbot.reply(question)
    assert r.answered and r.escalation is None  # it went through triage, the search and the answer
    assert sum(question in batch for batch in batches) == 1


def test_a_kept_forward_pass_gives_exactly_the_vectors_of_encoding_anew(chatbot):
    from bot.index.embedding import RecentPasses, encode

    # Texts of different lengths: the short one is padded in the batch, which changes its last bits.
    texts = ["my neck is stiff", "my lower back has ached since I moved house, mostly when I bend to lift boxes"]
    passes = RecentPasses(capacity=2)
    assert np.array_equal(passes(chatbot.model, texts).vectors(), encode(chatbot.model, texts))
    assert np.array_equal(passes(chatbot.model, texts[:1]).vectors(), encode(chatbot.model, texts[:1]))
    assert np.array_equal(passes(chatbot.model, texts).vectors(), encode(chatbot.model, texts))  # kept, not mixed up


def test_a_follow_up_asking_what_the_last_answer_quoted_gets_that_sentence_again(chatbot):
    """"How long should I hold it?" after an answer that quoted the hold time: the hold time,
    first and cited, not "the articles don't say" and a sentence about something else."""
    first = "my neck gets so stiff from looking at my laptop all day, are there any stretches I can do at my desk?"
    r1 = chatbot.reply(first)
    timed = [s for s, _ in r1.sentences if re.search(r"\b\d+ seconds\b", s)]
    assert timed, "the first answer should quote a hold time"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": r1.text, "state": r1.state()}]
    r2 = chatbot.reply("how long should I hold it?", history)
    assert r2.sentences and r2.sentences[0][0] == timed[0]
    assert "don't say" not in r2.text
    assert all(re.search(r"\b(\d+|few|several|one|two|three|ten)\b", s) for s, _ in r2.sentences)
    # Without the state (a client that kept only the text), nothing is recalled, and nothing breaks.
    r3 = chatbot.reply("how long should I hold it?", [{"role": "user", "content": first}, {"role": "assistant", "content": r1.text}])
    assert DISCLAIMER in r3.text


def test_an_emergency_told_of_someone_else_says_what_to_do_for_them(chatbot):
    first = "my dad is 78 and slipped on the path yesterday. what stretches can I do for my own stiff neck?"
    r1 = chatbot.reply(first)
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": r1.text, "state": r1.state()}]
    r = chatbot.reply("dad just said he can't really feel his legs since this morning and he's wet himself", history)
    assert r.escalation is None and r.someone_else is not None and r.someone_else.level == "emergency"
    assert chatbot.settings.emergency_number in r.text and not r.citations and DISCLAIMER in r.text
    assert not EXERCISE_WORDS.search(r.text.split("---")[0])
    assert "don't cover" not in r.text
