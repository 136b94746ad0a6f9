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


def test_mojibake_is_repaired_and_quotes_stay_as_written():
    # UTF-8 read as Windows-1252, as pages saved by old tools often are.
    assert normalise("Itâ€™s a â€œchin tuckâ€\x9d â€“ hold it.") == "It’s a “chin tuck” – hold it."
    assert normalise("Ã©tÃ© cafÃ©") == "été café"
    # Nothing else is rewritten: straight and curly quotes, ligatures, full-width letters, entities.
    for text in ("“Curly” and \"straight\" and it’s and it's", "ﬁnd the ﬂoor", "ＡＢＣ", "Tom &amp; Jerry", "naïve résumé"):
        assert normalise(text) == text


def test_every_mojibake_table_entry_is_one_ftfy_leaves():
    """bot/data/mojibake.tsv keeps only what ftfy does not repair: ftfy, run as the cleaner
    runs it, on each entry's example leaves the bad text there for the entry to repair."""
    import ftfy

    from bot.corpus.cleaning import FTFY_SETTINGS, mojibake_repairs

    repairs = mojibake_repairs()
    assert repairs
    for r in repairs:
        assert r.pattern.search(r.example), f"{r.pattern.pattern}: its example has nothing to repair"
        assert r.pattern.search(ftfy.fix_text(r.example, **FTFY_SETTINGS)), f"{r.pattern.pattern}: ftfy repairs it already"
        assert normalise(r.example) != r.example


def test_page_furniture_lines_in_a_text_file_are_dropped():
    c = clean("Posted on March 9, 2025 by Maren Hollis.\n\nSit with your hips well back in the seat.\n\n"
              "Share this: Twitter Facebook.\nYou may also like these posts.\n3 comments so far.\n"
              "We use cookies to give you the best experience.\n© 2025 Spine & Stride.\nCopyright 2024 by the author.\n"
              "Proudly powered by WordPress.")
    assert [c.sentence_text(s) for s in c.sentences] == ["Sit with your hips well back in the seat."]
    assert all(d.reason.startswith("boilerplate") for d in c.dropped) and len(c.dropped) == 8
