"""Triage: rules one by one, both detectors together, and the labelled sets in tests/data."""

import numpy as np
import pytest

from bot.understand.triage import triage
from conftest import DATA

EMERGENCIES = [
    "I can't control my bladder and my back hurts",
    "I wet myself this morning and my lower back is agony",
    "cant pee since yesterday and my back is killing me",
    "I have numbness in my groin",
    "numb down there since this morning",
    "also I can't feel anything when I wipe",
    "I've lost control of my bowels",
    "my legs are getting weaker and weaker",
    "legs giving way when I walk",
    "I fell off a ladder and now my back is killing me",
    "I was in a car crash yesterday and my neck hurts",
    "I have chest pain spreading to my back and arm",
    "stiff neck with a fever and a headache",
    "I want to kill myself",
    "I think I might have lost bladder control",
    "no fever and I wet myself",
]
NOT_ESCALATED = [
    "no numbness, just stiff",
    "How do I stretch my upper back?",
    "I fell asleep at my desk and my neck is stiff",
    "weak coffee and a stiff neck this morning",
    "my laptop crashed and my shoulders are tense",
    "I don't have a fever",
    "without any bladder problems, just an ache",
    "I had a fever last year but now only my back aches",
    "my mother had cancer",
    "what are the warning signs of cauda equina?",
    "what if my legs go numb?",
    "bladder problems have been ruled out",
]


@pytest.mark.parametrize("message", EMERGENCIES)
def test_emergencies_escalate(message):
    e = triage(message).escalation
    assert e is not None and e.level == "emergency" and e.reasons


@pytest.mark.parametrize("message", NOT_ESCALATED)
def test_ordinary_and_hard_negatives_do_not(message):
    assert triage(message).escalation is None


def test_fever_is_urgent_not_emergency():
    e = triage("I have a fever and my back hurts").escalation
    assert e.level == "urgent" and e.flags == ["fever"]


def test_history_of_cancer_is_itself_the_flag():
    assert triage("I have a history of cancer and new back pain").escalation.level == "urgent"


def test_negation_scope_ends_at_but():
    assert triage("I don't have back pain but I can't pee").escalation.level == "emergency"


def test_hypothetical_gets_information_not_alarm():
    r = triage("what if my legs go numb?")
    assert r.escalation is None and r.asks_about_red_flags and "progressive_neuro" in r.asked_about


def test_question_about_own_symptom_still_escalates():
    assert triage("what is this numbness in my groin?").escalation.level == "emergency"


def test_flags_accumulate_and_remind_until_help():
    h = [{"role": "user", "content": "I can't control my bladder"}, {"role": "assistant", "content": "..."}]
    later = triage("how do I stretch?", h).escalation
    assert later.level == "emergency" and later.ongoing
    assert triage("I called 911 and the ambulance is coming", h).escalation is None
    h2 = h + [{"role": "user", "content": "I called 911"}, {"role": "assistant", "content": "..."}]
    assert triage("how do I stretch?", h2).escalation is None


def test_a_phrasing_with_its_own_negation_is_not_negated_by_an_earlier_one():
    e = triage("I haven't slept at all, no position helps and my back is agony").escalation
    assert e is not None and e.level == "urgent"


def test_a_degree_word_is_not_a_negation():
    history = [{"role": "user", "content": "I'm 83 and still do my own garden"}, {"role": "assistant", "content": "..."}]
    e = triage("a little wobble off the kerb, not far, landed on my hip and my back aches", history).escalation
    assert e is not None and e.level == "urgent"


def test_an_age_opening_the_message_counts():
    e = triage("79 and slipped on the bathroom tiles, my lower back hurts when I stand").escalation
    assert e is not None and e.level == "urgent"


@pytest.mark.parametrize("typed", ["i cnat controll my bladder", "numbess in my groyn", "I cant pee"])
def test_common_misspellings_are_understood(typed):
    e = triage(typed).escalation
    assert e is not None and e.level == "emergency"


def test_self_harm_is_marked_for_the_crisis_line():
    assert triage("I don't want to live anymore").escalation.crisis


@pytest.mark.parametrize("message,modifier", [
    ("no numbness in my groin", "negated"),
    ("bladder problems have been ruled out", "negated"),
    ("I had a fever last year", "historical"),
    ("my mother has bladder incontinence", "other_experiencer"),
    ("what if my legs go numb", "hypothetical"),
    ("what are the symptoms of saddle numbness", "informational"),
    ("not only is there numbness in my groin", ""),  # pseudo-trigger: modifies nothing
    ("I think my groin is numb", ""),  # uncertainty never suppresses
    ("my legs are not weak", "negated"),  # a negated verb inside the phrase itself
    ("I do not feel it when I wipe", ""),  # ...but a negation that is the symptom is not
    ("I had a fever last month", "historical"),
    ("I have had a fever since last month", ""),  # pseudo: "since last month" is ongoing
])
def test_context_rules_one_by_one(message, modifier):
    from bot.understand.triage import find_flags

    findings = find_flags(message)
    assert findings and findings[0].modifier == modifier


# ---------------------------------------------------------------- with the meaning detector


@pytest.fixture(scope="module")
def model(chatbot):
    return chatbot.model


def test_warning_signs_name_every_catalogue_flag(chatbot):
    """One source of truth: the reply and the page list every flag's sign from the catalogue."""
    from bot.page import warning_signs_markdown
    from bot.compose.answer import escape_markdown
    from bot.understand.red_flags import red_flags

    reply = chatbot.reply("what are the warning signs I should look out for?").text
    page = warning_signs_markdown(chatbot.settings)
    for flag in red_flags():
        assert flag.sign and flag.sign in reply, flag.id
        assert escape_markdown(flag.sign) in page, flag.id


#: "I can't feel my legs, I can't pee and my back hurts terribly", as people write it in other languages.
OTHER_LANGUAGE_EMERGENCIES = {
    "Polish": "nie czuję nóg, nie mogę się wysikać i strasznie boli mnie kręgosłup",
    "Dutch": "ik voel mijn benen niet meer, ik kan niet plassen en mijn rug doet vreselijk pijn",
    "Turkish": "bacaklarımı hissetmiyorum, idrar yapamıyorum ve belim çok ağrıyor",
    "Swedish": "jag känner inte mina ben, jag kan inte kissa och ryggen gör fruktansvärt ont",
    "Finnish": "en tunne jalkojani, en pysty virtsaamaan ja selkään sattuu hirveästi",
    "Czech": "necítím nohy, nemůžu močit a strašně mě bolí záda",
    "Hungarian": "nem érzem a lábaimat, nem tudok pisilni és borzasztóan fáj a hátam",
    "Indonesian": "saya tidak bisa merasakan kaki saya, tidak bisa buang air kecil dan punggung saya sakit sekali",
    "Tagalog": "hindi ko maramdaman ang mga binti ko, hindi ako makaihi at sobrang sakit ng likod ko",
    "Spanish": "no siento las piernas, no puedo orinar y me duele muchísimo la espalda",
    "German": "ich spüre meine Beine nicht mehr, kann nicht pinkeln und mein Rücken tut furchtbar weh",
    "French": "je ne sens plus mes jambes, je n'arrive pas à uriner et j'ai très mal au dos",
    "Portuguese": "não sinto as pernas, não consigo urinar e as minhas costas doem muito",
    "Italian": "non sento più le gambe, non riesco a urinare e ho un mal di schiena terribile",
    "Romanian": "nu îmi mai simt picioarele, nu pot să urinez și mă doare groaznic spatele",
    "Vietnamese": "tôi không cảm thấy chân mình, không đi tiểu được và lưng đau khủng khiếp",
    "Russian": "я не чувствую ног, не могу помочиться и ужасно болит спина",
    "Arabic": "لا أشعر بساقي ولا أستطيع التبول وظهري يؤلمني بشدة",
}


@pytest.mark.parametrize("language", sorted(OTHER_LANGUAGE_EMERGENCIES))
def test_an_emergency_in_another_language_gets_the_emergency_number(chatbot, language):
    r = chatbot.reply(OTHER_LANGUAGE_EMERGENCIES[language])
    number = chatbot.settings.emergency_number
    assert f"tel:{number}" in r.text and "English" in r.text, language
    assert not r.citations and "don't cover" not in r.text


def test_risk_factors_combine_across_turns(model):
    history = [{"role": "user", "content": "I'm 81 and live on my own"}, {"role": "assistant", "content": "..."}]
    slipped = "slipped on the back step yesterday, sharp pain in the middle of my back since"
    assert triage(slipped, model=model).escalation is None  # at 30 it is just a fall on a step
    e = triage(slipped, history, model=model).escalation
    assert e is not None and e.level == "urgent" and not e.ongoing
    steroids = [{"role": "user", "content": "been on prednisolone for my lungs for years"}, {"role": "assistant", "content": "..."}]
    e = triage("bent down to feed the cat and got a sudden sharp pain in my back", steroids, model=model).escalation
    assert e is not None and e.level == "urgent"


@pytest.mark.parametrize("message", EMERGENCIES)
def test_both_detectors_together_still_escalate(model, message):
    e = triage(message, model=model).escalation
    assert e is not None and e.level == "emergency"


@pytest.mark.parametrize("message", NOT_ESCALATED)
def test_both_detectors_together_leave_hard_negatives_alone(model, message):
    assert triage(message, model=model).escalation is None


@pytest.mark.parametrize("message", [
    "no numbness or anything, just that one sore spot, feels fine when I'm sitting still",
    "no headache and I can touch my chin to my chest fine, it's just turning sideways that's sore",
])
def test_saying_a_part_works_is_not_the_sign(model, message):
    assert triage(message, model=model).escalation is None


def _vignettes(name):
    from bot.tools.evaluation import load_vignettes

    return load_vignettes(DATA / name)


@pytest.mark.parametrize("names", [("triage_vignettes.jsonl", "triage_heldout.jsonl")])
def test_our_own_vignettes_stay_perfect(model, names):
    """The older sets, written by us and tuned on: any miss here is a regression."""
    from bot.tools.evaluation import evaluate_triage

    vignettes = [v for n in names for v in _vignettes(n)]
    assert len(vignettes) >= 200
    r = evaluate_triage(vignettes, model)
    assert r.sensitivity == 1.0 and r.emergency_sensitivity == 1.0 and r.specificity == 1.0, r.misclassified


#: Figures reached on the sets grounded in real people's words (docs/triage.md). The targets are
#: 0.98 / 0.95 / 0.90 on data nobody tuned on; these floors catch regressions on tuned data.
REACHED = {
    "triage_real_dev.jsonl": (0.98, 0.97, 0.95),
}
# The other development sets (held-out, fresh, fresh2, fresh3: 565 more messages) are run by
# `backbot eval --triage`, their figures in docs/triage.md: each long message costs a forward
# pass per clause, and the suite must stay under 12 minutes, so it asserts the first one only.


@pytest.fixture(scope="module")
def real_reports(model):
    """Each real-language set evaluated once, with both detectors: (vignettes, report)."""
    from bot.tools.evaluation import evaluate_triage

    return {name: (_vignettes(name), evaluate_triage(_vignettes(name), model)) for name in REACHED}


@pytest.mark.parametrize("name", sorted(REACHED))
def test_real_language_sets_keep_the_figures_reached(real_reports, name):
    vignettes, r = real_reports[name]
    must, must_not = [v for v in vignettes if v["level"]], [v for v in vignettes if not v["level"]]
    assert len(must) >= 60 and len(must_not) >= 45 and all(v.get("source", "").startswith("http") for v in vignettes)
    assert sum(len(v["messages"]) > 1 for v in vignettes) >= 20
    sensitivity, emergencies, specificity = REACHED[name]
    assert r.sensitivity >= sensitivity and r.emergency_sensitivity >= emergencies, r.misclassified
    assert r.specificity >= specificity, r.misclassified


def test_every_flag_family_escalates_and_its_hard_negatives_do_not(real_reports):
    """Per family of the real-language sets: most positives escalate, most negatives don't."""
    families: dict[str, list[int]] = {}
    for _, r in real_reports.values():
        for family, (right, of) in r.families.items():
            tally = families.setdefault(family, [0, 0])
            tally[0] += right
            tally[1] += of
    assert len([f for f in families if "must not" not in f]) >= 14
    for family, (right, of) in families.items():
        assert right / of >= 0.75, (family, right, of)


@pytest.mark.parametrize("message,level", [
    ("how many ibuprofen can I take a day for my back?", None),
    ("whats the max dose of co-codamol, the pain is unreal", None),
    ("I've been looking up how many pills it would take to not wake up", "emergency"),
])
def test_a_dosing_question_is_not_an_overdose_plan(model, message, level):
    e = triage(message, model=model).escalation
    assert (e.level if e else None) == level


@pytest.mark.parametrize("message,level", [
    # The model reads one leg much like both; the bank's flag_requires makes the clause say it.
    ("Mine is just pain down one leg at the moment and everything else works.", None),
    ("sciatica going down both my legs now", "emergency"),
    # "it's gone up into my jaw" is spreading, not gone.
    ("it's gone up into my jaw now and down my left arm to my hand, and i'm sweating buckets", "emergency"),
    ("the numbness in my groin is gone now", None),
    ("honestly i'm running out of reasons to keep going. been thinking about ending it more and more", "emergency"),
    ("Nearly 83. Missed my footing on the basement stairs and came down the last few steps, my back is sore", "urgent"),
    ("can barely stand up straight after lifting the shopping, no other symptoms", None),
    ("is it true heart attacks in women can show up as back pain?", None),
])
def test_signs_told_in_other_words(model, message, level):
    e = triage(message, model=model).escalation
    assert (e.level if e else None) == level


def test_the_example_banks_vectors_are_kept_between_runs_and_survive_damage(model, tmp_path):
    from bot.index.embedding import encode
    from bot.understand.red_flag_meaning import example_bank

    fresh = example_bank.__wrapped__  # past the in-process cache: as a new run would
    bank = fresh(model, cache_dir=tmp_path)
    kept = list(tmp_path.glob("*.npy"))
    assert len(kept) == 1
    assert np.allclose(bank.vectors, encode(model, list(bank.texts)), atol=1e-6)
    kept[0].write_bytes(b"not an array")  # a damaged cache is encoded anew, not trusted
    again = fresh(model, cache_dir=tmp_path)
    assert np.allclose(again.vectors, bank.vectors, atol=1e-6)


@pytest.mark.parametrize("message,level", [
    ("also dad just said he cant really feel his legs properly since this morning and hes wet himself, is that the fall?",
     "emergency"),
    ("my son's got a stiff neck and a rash that doesn't fade under a glass and he's really drowsy", "emergency"),
    ("my dad is 78 and he slipped on the path yesterday, his back is sore when he moves", "urgent"),
    ("my husband had a bad back last year but he's fine now", None),
    ("my wife has had back pain for a week, she says it's sore when she bends, what helps?", None),
])
def test_signs_told_of_someone_else_are_theirs_not_the_persons(model, message, level):
    t = triage(message, model=model)
    assert t.escalation is None  # not the person's own emergency...
    assert (t.someone_else.level if t.someone_else else None) == level  # ...but someone may need help
