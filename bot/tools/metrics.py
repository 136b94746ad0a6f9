"""Ranking metrics, defined once and named as the field names them (trec_eval, ir-measures).

Each takes one question's ranking as relevance flags, best first (True: the passage at that
rank is relevant), and `n_relevant`, how many passages of the whole corpus are relevant to
the question. Averaged over questions:
- success@k: whether at least one relevant passage is in the top k (the share of questions
  with a hit);
- recall@k: the share of the question's relevant passages that are in the top k (it can
  stay under 1 when more passages are relevant than k);
- reciprocal rank: 1 / the rank of the first relevant passage (MRR is its mean);
- nDCG@k: binary gains, discounted by log2(rank + 1), over the ideal ranking, which puts
  min(k, n_relevant) relevant passages first.
A question with no relevant passage anywhere scores 0 on all of them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence


def success_at(flags: Sequence[bool], k: int) -> float:
    return 1.0 if any(flags[:k]) else 0.0


def recall_at(flags: Sequence[bool], n_relevant: int, k: int) -> float:
    return sum(flags[:k]) / n_relevant if n_relevant else 0.0


def reciprocal_rank(flags: Sequence[bool]) -> float:
    return next((1 / rank for rank, hit in enumerate(flags, 1) if hit), 0.0)


def ndcg_at(flags: Sequence[bool], n_relevant: int, k: int) -> float:
    dcg = sum(1 / math.log2(rank + 1) for rank, hit in enumerate(flags[:k], 1) if hit)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, n_relevant) + 1))
    return dcg / ideal if ideal else 0.0
