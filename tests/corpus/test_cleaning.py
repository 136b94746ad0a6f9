from bot.corpus.cleaning import clean_article, normalise, quality_flaw
from bot.corpus.ingest import Article
from bot.text import default_sentence_splitter


def art(text, doc_id="d"):
    return Article(doc_id, "T", "S", "", text, f"{doc_id}.txt", "0")


def clean(text, **kw):
    return clean_article(art(text, **kw), default_sentence_splitter())


def test_drop_cap_mojibake_is_repaired():
    text = normalise("Neck PainĪll of this. It helps.Ī simple stretch works well.īesides that, rest.")
    assert "Ī" not in text and "ī" not in text
    assert "All of this." in text and "A simple stretch works well." in text and "Besides that, rest." in text


def test_unicode_and_whitespace_are_normalised():
    assert normalise("a\u00a0 b\t\tc\r\nd\u200b") == "a b c\nd"


def test_boilerplate_and_duplicates_are_dropped_with_reasons():
    c = clean("Stretch your neck gently every day. previous post\n\nStretch your neck gently every day.\n\nHere's a video.\nWe may earn a commission through links on our site.")
    kept = [c.sentence_text(s) for s in c.sentences]
    assert kept == ["Stretch your neck gently every day."]
    reasons = sorted(d.reason.split(" (")[0] for d in c.dropped)
    assert reasons == ["boilerplate", "boilerplate", "boilerplate", "duplicate sentence"]


def test_offsets_point_into_the_cleaned_text():
    c = clean("First sentence here is fine.\nSecond one is also fine here.\n\nA new paragraph starts now.")
    for s in c.sentences:
        assert c.text[s.start : s.end] == c.sentence_text(s)
    assert [s.paragraph for s in c.sentences] == [0, 0, 1]


def test_quality_filter_marks_fragments():
    assert quality_flaw("Hold this pose for several breaths.") == ""
    assert quality_flaw("Affix the resistance band to a pole or...")
    assert quality_flaw("Upper Back Pain Relief Exercises")  # heading
    assert quality_flaw("forward head posture exercises – Hold this position.")  # starts mid-sentence
    assert quality_flaw("Targeted muscle: Stretches Rhomboids/Deltoids Cold will reduce swelling and pain.")
    assert quality_flaw("Rotate your head jutting forward knots do n't have one, and shoulder pain got so I.")
