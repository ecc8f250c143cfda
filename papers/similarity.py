"""Similar papers: the stored nearest neighbours of a paper (papers/vectors.py computes them).

No model is fitted here: the paper page reads the ids stored with the paper's
vector when the catalogue's vectors were last fitted (nearest neighbours by
cosine over every published paper), so a cold paper page costs what a warm
one does. A paper imported since the last fit has a vector but no neighbours
yet: its page shows no similar papers until the next fit.
"""

from .models import Paper
from .vectors import similar_ids


def similar_papers(paper: Paper, *, limit: int = 5) -> list[Paper]:
    """The `limit` published papers closest to `paper`, closest first (two queries and the tags' prefetch)."""
    ids = similar_ids(paper.pk)
    if not ids:
        return []
    by_id = {p.pk: p for p in Paper.objects.published().filter(pk__in=ids).for_cards()}
    return [by_id[pk] for pk in ids if pk in by_id][:limit]
