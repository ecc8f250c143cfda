"""Similar papers: the stored nearest neighbours of a paper (papers/vectors.py computes them).

No model is fitted here: the paper page reads the ids stored with the paper's
vector when the catalogue's vectors were last fitted (nearest neighbours by
cosine over every published paper), so a cold paper page costs what a warm
one does. A paper imported since the last fit gets its neighbours with its
vector, in the import's job (`vectors.assign_vectors`); older papers' lists
take it in at the next fit.
"""

from django.db.models import QuerySet

from .models import Paper
from .vectors import similar_ids, similar_ids_of


def similar_papers(paper: Paper, *, limit: int = 5) -> list[Paper]:
    """The `limit` published papers closest to `paper`, closest first.

    The stored ids come with the paper when it was read with `with_similar_ids`
    (papers/views.py does), else from one query; then one query for the papers
    and the cards' prefetches.
    """
    ids = paper.stored_similar_ids if hasattr(paper, "stored_similar_ids") else similar_ids(paper.pk)
    ids = list(ids or [])[: limit * 2]  # room for a few that are no longer published
    if not ids:
        return []
    by_id = {p.pk: p for p in Paper.objects.published().filter(pk__in=ids).for_cards()}
    return [by_id[pk] for pk in ids if pk in by_id][:limit]


def with_similar_ids(papers: QuerySet) -> QuerySet:
    """`papers` each annotated with `stored_similar_ids` (their stored neighbours, or None)."""
    return papers.annotate(stored_similar_ids=similar_ids_of("pk"))
