"""Ask before advising: safety questions once per conversation, only when they apply; a yes escalates."""
import pytest

from bot.compose.answer import NO_TO_SCREENING
from bot.understand.screening import questions


def _say(chatbot, messages):
    """Run a conversation the way the page does (each reply's state kept with it); the replies."""
    history, replies = [], []
    for m in messages:
        r = chatbot.reply(m, history)
        replies.append(r)
        history = history + [{"role": "user", "content": m},
                             {"role": "assistant", "content": r.text, "state": r.state()}]
    return replies


SCIATICA = "I've had sciatica down my left leg for a week after lifting boxes, what stretches can I do?"


@pytest.mark.parametrize("message,must_ask", [
    (SCIATICA, {"bladder_bowel", "saddle", "leg_weakness"}),
    ("my back went suddenly this morning, the pain is excruciating, what can I do?", {"bladder_bowel", "fever"}),
    ("I slipped on ice yesterday and landed on my bum, my lower back aches, how do I ease it?", {"leg_weakness"}),
    ("I'm 58 and my lower back has started aching, what exercises help?", {"cancer"}),
])
def test_situations_that_call_for_screening_ask_first(chatbot, message, must_ask):
    r = _say(chatbot, [message])[0]
    assert must_ask <= set(r.screening)
    assert r.escalation is None
    # The questions come before the advice, and the advice still comes.
    first_question = questions()[r.screening[0]].ask
    assert first_question in r.text
    if r.sentences:
        assert r.text.index(first_question) < r.text.index(r.sentences[0][0][:30])
    # One-tap answers: each question's yes, and a no.
    values = [o["value"] for o in r.options()]
    assert values[-1] == NO_TO_SCREENING and len(values) == len(r.screening) + 1


@pytest.mark.parametrize("message", [
    "How do I stretch my upper back?",
    "my neck is stiff from looking at my phone, any stretches?",
    "what causes tight shoulders when I sit at a desk?",
])
def test_ordinary_questions_are_not_screened(chatbot, message):
    r = _say(chatbot, [message])[0]
    assert r.screening == () and r.options() == []


def test_a_sign_already_spoken_of_is_not_asked_again(chatbot):
    r = _say(chatbot, ["sciatica in my right leg, no numbness down there and peeing normally, what helps?"])[0]
    assert "leg_weakness" in r.screening
    assert "saddle" not in r.screening and "bladder_bowel" not in r.screening


def test_screening_is_asked_once_per_conversation(chatbot):
    replies = _say(chatbot, [SCIATICA, "what else can I do?", "the pain in my leg is worse after sitting, why?"])
    assert replies[0].screening
    assert all(r.screening == () for r in replies[1:])


@pytest.mark.parametrize("answer,level", [
    ("yes", "emergency"),
    ("yeah I think so, one of them", "emergency"),
    ("Yes: I have numbness between my legs or around my bottom", "emergency"),
])
def test_a_yes_escalates(chatbot, answer, level):
    replies = _say(chatbot, [SCIATICA, answer, "what stretches help?"])
    assert replies[1].escalation is not None and replies[1].escalation.level == level
    assert "tel:" in replies[1].text
    # The alarm stays until they say they got help, and no self-care comes meanwhile.
    assert replies[2].escalation is not None and replies[2].escalation.ongoing and not replies[2].sentences


def test_a_yes_to_the_history_question_is_urgent_not_emergency(chatbot):
    replies = _say(chatbot, ["I'm 63 and my lower back started hurting this month, what helps?", "Yes: I have had cancer"])
    assert "cancer" in replies[0].screening
    assert replies[1].escalation is not None and replies[1].escalation.level == "urgent"


def test_a_no_is_thanked_and_nothing_escalates(chatbot):
    replies = _say(chatbot, [SCIATICA, NO_TO_SCREENING, "how long should I hold a stretch?"])
    assert replies[1].escalation is None and "reassuring" in replies[1].text
    assert replies[2].escalation is None and replies[2].screening == ()


def test_a_screening_state_in_the_history_is_what_counts_not_the_text(chatbot):
    """Triage reads which questions were asked from the reply's state: a history whose reply
    text shows the questions but carries no state is not a screening, and 'yes' is just 'yes'."""
    first = _say(chatbot, [SCIATICA])[0]
    no_state = [{"role": "user", "content": SCIATICA}, {"role": "assistant", "content": first.text}]
    assert chatbot.reply("yes", no_state).escalation is None
    with_state = no_state[:1] + [{**no_state[1], "state": first.state()}]
    assert chatbot.reply("yes", with_state).escalation is not None
