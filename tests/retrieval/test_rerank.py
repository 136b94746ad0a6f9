"""Late-interaction reranking: the MaxSim score, the token-vector cache, the one-pass query
encoding, and where hybrid search uses it (and where it doesn't)."""
import dataclasses

import numpy as np
import pytest

from bot.retrieval.rerank import TokenVectorCache, encode_query, maxsim, token_vectors


def test_maxsim_is_the_mean_best_match_of_the_questions_tokens():
    e = np.eye(4, dtype=np.float32)
    assert maxsim(e[:2], e) == pytest.approx(1.0)  # every question token is in the passage
    assert maxsim(e[:2], e[2:]) == pytest.approx(0.0)  # none is
    assert maxsim(e[:2], e[1:]) == pytest.approx(0.5)  # one of two
    assert maxsim(e[:0], e) == 0.0 and maxsim(e, e[:0]) == 0.0


def test_query_encoding_gives_the_dense_vector_in_the_same_pass(chatbot):
    from bot.index.embedding import encode

    q = "how long should I hold the neck stretch?"
    vector, tokens = encode_query(chatbot.model, q)
    # Dense search uses this vector: it must be the one `encode` gives.
    assert np.allclose(vector, encode(chatbot.model, [q])[0], atol=1e-5)
    (alone,) = token_vectors(chatbot.model, [q])
    assert tokens.shape == alone.shape and np.allclose(tokens, alone, atol=1e-4)
    assert np.allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-4)
    # [CLS] and [SEP] are dropped: fewer rows than the tokenizer's ids.
    assert len(tokens) == len(chatbot.model.tokenizer(q)["input_ids"]) - 2


def test_the_cache_is_bounded_keyed_by_version_and_gives_what_encoding_gives(chatbot):
    texts = [c.text for c in chatbot.index.chunks[:4]]
    cache = TokenVectorCache(chatbot.model, capacity=3)
    got = cache.chunks("v1", [0, 1, 2, 3], texts)
    assert len(cache) == 3  # the oldest went out
    fresh = token_vectors(chatbot.model, texts)
    for a, b in zip(got, fresh):
        assert a.shape == b.shape and np.allclose(a.astype(np.float32), b, atol=2e-3)
    again = cache.chunks("v1", [3], texts[3:])
    assert again[0] is got[3]  # served from the cache, not encoded again
    cache.chunks("v2", [3], texts[:1])  # another index version: chunk 3 is another text
    assert cache.chunks("v2", [3], texts[:1])[0].shape == fresh[0].shape


def test_hybrid_reranks_its_window_and_the_other_methods_do_not(chatbot):
    from bot import Chatbot

    q = "can muscle imbalances be corrected"
    timings = {}
    on = chatbot.search(q, 5, "hybrid", timings=timings)
    assert "rerank" in timings
    off_settings = dataclasses.replace(chatbot.settings, rerank_candidates=0)
    off_bot = Chatbot(chatbot.index, off_settings, chatbot.model)
    off = off_bot.search(q, 5)
    # The reranked top 5 come from the fusion's top `rerank_candidates`, in MaxSim order.
    # With MMR off, the fusion's own order.
    plain = Chatbot(chatbot.index, dataclasses.replace(off_settings, mmr_lambda=1.0), chatbot.model)
    window = {h.chunk_id for h in plain.search(q, chatbot.settings.rerank_candidates)}
    assert {h.chunk_id for h in on} <= window
    scores = [h.score for h in on]
    assert scores[0] == max(scores)
    assert [h.chunk_id for h in on] != [h.chunk_id for h in off]
    for method in ("dense", "bm25"):
        timings = {}
        chatbot.search(q, 5, method, timings=timings)
        assert "rerank" not in timings, method
    assert len(off_bot.tokens) == 0


def test_large_indexes_skip_the_rerank(chatbot):
    from bot import Chatbot

    small_limit = dataclasses.replace(chatbot.settings, rerank_max_chunks=len(chatbot.index.chunks) - 1)
    bot = Chatbot(chatbot.index, small_limit, chatbot.model)
    timings = {}
    assert bot.search("neck stretch", 3, timings=timings)
    assert "rerank" not in timings and len(bot.tokens) == 0


def test_bad_rerank_settings_are_refused():
    from bot.settings import Settings, SettingsError

    for env in ({"BACKBOT_RERANK_CANDIDATES": "-1"}, {"BACKBOT_TOKEN_CACHE_CHUNKS": "0"},
                {"BACKBOT_RERANK_MAX_CHUNKS": "-5"}):
        with pytest.raises(SettingsError, match="rerank_candidates"):
            Settings.from_env(env=env)
