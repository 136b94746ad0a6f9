"""Answers sentence by sentence, on real people's questions (tests/data/answers_*.jsonl): the
figures reached are kept, narratives are never bare-declined, follow-ups read as English."""
import re

import pytest

from bot.tools.answer_eval import SYSTEMS, evaluate_answers, is_labelled, load_items
from conftest import DATA



@pytest.fixture(scope="module")
def dev_report(chatbot):
    # Every other item of the development set (the whole set: `backbot eval --answers`), to keep
    # the suite under 12 minutes; the floors below hold on both.
    return evaluate_answers(chatbot, load_items(DATA / "answers_dev.jsonl")[::2], peers=False)


def test_the_labelled_sets_are_grounded_and_large_enough():
    dev, held = load_items(DATA / "answers_dev.jsonl"), load_items(DATA / "answers_heldout.jsonl")
    items = dev + held
    assert len(items) >= 150 and len(held) >= 50
    assert sum(len(i.turns) > 1 for i in items) >= 30
    assert all(i.source.startswith("http") for i in items)
    turns = [t for i in items for t in i.turns]
    assert all(t.gold for t in turns if t.answerable) and any(not t.answerable for t in turns)


#: What BackBot reached on the development set (docs/answers.md); a regression in selection or
#: understanding fails here. The targets (0.90 / 0.80 / 0.55 / 0.85 / 0.85) are not met yet.
REACHED = {"answered": 0.75, "gold quoted": 0.25, "first gold": 0.14, "on topic": 0.16, "unanswerable handled": 0.50}


@pytest.mark.parametrize("figure", sorted(REACHED))
def test_development_figures_are_kept(dev_report, figure):
    value = dev_report.overall[SYSTEMS[0]].figures()[figure]
    assert value is not None and value >= REACHED[figure], (figure, value)


def test_the_matching_is_by_sentence_not_by_passage():
    assert is_labelled("Hold this for 10 seconds.", ("Hold this for 10 seconds.",))
    assert is_labelled("  hold THIS for 10   seconds. ", ("Hold this for 10 seconds.",))
    assert not is_labelled("Hold this for 20 seconds.", ("Hold this for 10 seconds.",))
    # A labelled sentence glued to another by the splitter still counts.
    assert is_labelled("Stretch daily. Hold this for 10 seconds.", ("Hold this for 10 seconds.",))


NARRATIVES = [
    "I've tried naproxen for two weeks and it barely helps, my neck is stiff every single morning and I can hardly "
    "turn my head to reverse the car out of the drive. I sleep on two pillows if that matters. what else helps?",
    "ok so i work from home at the kitchen table 9 or 10 hours most days and by about 3pm my upper back and shoulders "
    "are burning, like a tight knot between the shoulder blades. is there anything i can do without a new desk?",
    "I sit at a desk 10 hours a day and my shoulders hurt",
    "what are the best non-drug ways to relax my upper back?",
    "I have a 2 year old and my lower back hurts from lifting her all day, what stretches help?",
]


@pytest.mark.parametrize("message", NARRATIVES)
def test_a_story_about_ones_own_pain_gets_an_answer_or_one_question(chatbot, message):
    r = chatbot.reply(message)
    assert "don't cover that" not in r.text
    assert r.intent in ("question", "clarify"), r.intent
    assert r.intent != "not_covered"  # a medicine tried is not a medicines question


@pytest.mark.parametrize("message,topic", [("how many ibuprofen can I take a day for my back?", "medicine"),
                                           ("my 8 year old has back pain, what should I do", "children")])
def test_medicines_and_childrens_pain_are_still_declined(chatbot, message, topic):
    r = chatbot.reply(message)
    assert r.intent == "not_covered" and not r.citations


def test_resolved_follow_ups_read_as_english(chatbot):
    first = chatbot.reply("I spend all day slumped at my desk and my upper back aches, what can I do?")
    history = [{"role": "user", "content": "I spend all day slumped at my desk and my upper back aches, what can I do?"},
               {"role": "assistant", "content": first.text, "state": first.state()}]
    for follow_up in ("how do I stop it coming back?", "how long should I hold it?", "why?", "and for the neck?"):
        r = chatbot.reply(follow_up, history)
        shown = re.search(r"\*Answering: (.+?)\*", r.text)
        assert shown, (follow_up, r.text[:200])
        question = shown.group(1).replace("\\", "")
        assert question[0].isupper() and question.endswith("?"), question
        assert len(question.split()) <= 14, question  # not the whole story pasted back
        assert "slumped" not in question and "desk all day" not in question, question


def test_nothing_is_quoted_twice_in_a_conversation_by_state(chatbot):
    first = chatbot.reply("How do I stretch my upper back?")
    history = [{"role": "user", "content": "How do I stretch my upper back?"},
               {"role": "assistant", "content": first.text, "state": first.state()}]
    more = chatbot.reply("what else?", history)
    assert first.sentences and not {s for s, _ in first.sentences} & {s for s, _ in more.sentences}
    assert first.state()["quoted"] == [s for s, _ in first.sentences]
