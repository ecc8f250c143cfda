"""The text model: a fit over the whole published catalogue, and the transform rate at import."""

import time

from django.utils import timezone

from . import db

TRANSFORM_SAMPLE = 5000


def measure(results, context) -> None:
    from papers import vectors
    from papers.models import Paper, PaperVector, TextModel

    started = time.perf_counter()
    version = vectors.fit(now=timezone.now())
    results.add("vectors_fit_s", time.perf_counter() - started, "s")
    db.vacuum(PaperVector)  # every paper's vector row was written again
    results.add("vectors_fit_papers", version.paper_count, "papers")
    results.add("vectors_dimensions", version.dimensions)
    size = TextModel.objects.filter(pk=version.pk).values_list("model", flat=True).get()
    results.add("vectors_model_mb", len(size) / 1e6, "MB")
    # What an import does for its new papers: transform with the current model and store (assign_vectors).
    ids = list(Paper.objects.published().order_by("-pk").values_list("pk", flat=True)[:TRANSFORM_SAMPLE])
    vectors._transforms.clear()
    started = time.perf_counter()
    vectors.assign_vectors(ids, version=version)
    elapsed = time.perf_counter() - started
    results.add("vector_transform_rate", len(ids) / elapsed, "papers/s")
