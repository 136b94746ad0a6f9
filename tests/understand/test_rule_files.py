"""The reviewable rule files: each kind of question has its texts, and a mistyped or unknown
key in a rule file is an error naming the file and the key, not a silent default."""
import json

import pytest

from bot.errors import BackBotError, RuleFileError
from bot.settings import DATA_DIR
from bot.understand.kinds import kinds, question_kind, read_kinds, shown_question
from bot.understand.red_flag_meaning import read_examples
from bot.understand.screening import read_screening
from bot.understand.red_flags import read_catalogue, read_context_rules

#: The kinds of question the README promises, plus the fallback and "tell me more".
PROMISED = {"causes", "howto", "relief", "prevention", "duration", "see_doctor", "definition", "general", "more"}


def test_every_kind_of_question_has_its_answer_texts():
    assert PROMISED <= set(kinds())
    for name, k in kinds().items():
        assert k.lead.strip() and k.lead_any.strip() and "{region}" not in k.lead_any, name
        if name != "more":  # "tell me more" goes on with the kind before it
            assert "{subject}" in k.shown and shown_question(name, "neck pain").endswith("?"), name
    # Each question below is of one kind; the texts used for it exist.
    for question, expected in [("why does my back hurt after sitting?", "causes"),
                               ("how long should I hold the stretch?", "duration"),
                               ("when should I see a doctor about my neck?", "see_doctor")]:
        assert question_kind(question) == expected and expected in kinds()


def rewritten(tmp_path, name, change):
    data = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("name, reader, change, key", [
    ("question_kinds.json", read_kinds, lambda d: d["causes"].update(leed=d["causes"].pop("lead")), "causes.leed"),
    ("question_kinds.json", read_kinds, lambda d: d["howto"].update(cue="(unclosed"), "howto.cue"),
    ("red_flags.json", read_catalogue, lambda d: d["flags"][0].update(levle="emergency"), "levle"),
    ("red_flags.json", read_catalogue, lambda d: d["flags"][1].update(level="soon"), "level"),
    ("red_flags.json", read_catalogue, lambda d: d["flags"][2].pop("sign"), "sign"),
    ("context_rules.json", read_context_rules, lambda d: d.update(negation_window=4), "negation_window"),
    ("context_rules.json", read_context_rules, lambda d: d["negated"].update(fowrard=[]), "negated.fowrard"),
    ("screening.json", read_screening, lambda d: d["situations"][0].update(patern=[]), "patern"),
    ("screening.json", read_screening, lambda d: d["situations"][0]["ask"].append("fevr"), "fevr"),
    ("red_flag_examples.json", read_examples, lambda d: d.update(treshold=0.6), "treshold"),
    ("red_flag_examples.json", read_examples, lambda d: d["flag_requires"].update(bilateral_sciatica="(both"),
     "flag_requires.bilateral_sciatica"),
])
def test_a_mistyped_key_is_an_error_naming_the_file_and_the_key(tmp_path, name, reader, change, key):
    path = rewritten(tmp_path, name, change)
    with pytest.raises(RuleFileError) as e:
        reader(path)
    assert str(path) in str(e.value) and key in str(e.value) and isinstance(e.value, BackBotError)


def test_the_shipped_rule_files_pass_their_checks():
    for name, reader in (("question_kinds.json", read_kinds), ("red_flags.json", read_catalogue),
                         ("context_rules.json", read_context_rules), ("screening.json", read_screening),
                         ("red_flag_examples.json", read_examples)):
        assert reader(DATA_DIR / name)  # raises if not
