"""Choosing a digest's papers per reader: paperhub's ranking, and arxiv-sanity-lite's SVM beside it.

What is timed (no SQL in either figure):

- `choose_ms_per_reader`: one real `choose_items` call for a chunk of CHUNK of
  the data set's readers (five followed tags and two followed searches each,
  daily), timing only what `subscriptions.digests` does in Python and numpy
  once the pool (candidates and their vectors) and the readers are loaded:
  building the pool's `CandidateIndex` (once; a dispatch's chunks in one
  worker process share it) plus `_choose_for_reader` for every reader (their
  rows, profile, scores, order, placement, reasons), divided by the readers.
  The call is wrapped, not copied, so it measures what a digest chunk runs.
- `choose_alone_ms`: the same for one reader alone (a pool and index of their own candidates, as the preview).
- `choose_svm_ms_per_reader`: arxiv-sanity-lite's method for SVM_READERS of the
  same readers, on the same candidates: TF-IDF fitted over the reader's
  candidates and own papers, a LinearSVC, its decision function
  (bench/eval_digests.py's `svm_ranking`); texts are loaded before timing.
"""

import time
from datetime import datetime

CHUNK = 100
SVM_READERS = 5


def _readers(count: int, *, offset: int) -> list[int]:
    from django.db.models import Count

    from subscriptions.models import TagFollow

    return list(
        TagFollow.objects.values("user_id")
        .annotate(n=Count("id"))
        .filter(n=5)
        .order_by("user_id")
        .values_list("user_id", flat=True)[offset : offset + count]
    )


def timed_choose(user_ids: list[int], *, now: datetime, keep: int = 0):
    """choose_items(user_ids) with its per-reader part timed: (seconds in index + choosing, kept (data, index))."""
    from subscriptions import digests

    spent = [0.0]
    kept = []
    original_index, original_choose = digests.CandidateIndex, digests._choose_for_reader

    class TimedIndex(original_index):
        def __init__(self, *args, **kwargs):
            started = time.perf_counter()
            super().__init__(*args, **kwargs)
            spent[0] += time.perf_counter() - started

    def timed(data, **kwargs):
        started = time.perf_counter()
        result = original_choose(data, **kwargs)
        spent[0] += time.perf_counter() - started
        if len(kept) < keep:
            kept.append((data, kwargs["index"]))
        return result

    digests.CandidateIndex, digests._choose_for_reader = TimedIndex, timed
    try:
        chosen = digests.choose_items(user_ids, now=now)
    finally:
        digests.CandidateIndex, digests._choose_for_reader = original_index, original_choose
    if not any(chosen.values()):
        raise RuntimeError("no reader got any paper: the data set's anchor is too far from now")
    return spent[0], kept


def measure(results, context) -> None:
    from .eval_digests import paper_texts, svm_ranking

    now = datetime.fromisoformat(context["marker"]["anchor"])
    timed_choose(_readers(10, offset=CHUNK + 10), now=now)  # warm-up: imports, BLAS threads
    chunk = _readers(CHUNK, offset=0)
    spent, kept = timed_choose(chunk, now=now, keep=SVM_READERS)
    results.add("choose_ms_per_reader", spent * 1000 / len(chunk), "ms")
    results.add("choose_chunk_readers", len(chunk))
    alone = [timed_choose([user_id], now=now)[0] for user_id in chunk[:SVM_READERS]]
    results.add("choose_alone_ms", sum(alone) * 1000 / len(alone), "ms")

    pools = []
    for data, index in kept:
        followed = {f"t{tag.pk}": tag for tag in data.tags} | {f"s{search.pk}": search for search in data.searches}
        rows, _ = index.reader_rows(data, followed)
        pools.append(([int(pk) for pk in index.ids[rows]], list(data.profile)))
    texts = paper_texts({pk for candidates, own in pools for pk in [*candidates, *own]})
    started = time.perf_counter()
    for candidates, own in pools:
        svm_ranking(candidates, own, texts)
    svm = (time.perf_counter() - started) * 1000 / len(pools)
    results.add("choose_svm_ms_per_reader", svm, "ms")
    results.add("choose_svm_candidates_mean", sum(len(c) for c, _ in pools) / len(pools))
    results.add("choose_svm_vs_paperhub", svm / (spent * 1000 / len(chunk)))
