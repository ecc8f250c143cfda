"""How long papers/trending.py's refresh takes for the whole catalogue (the periodic task's work)."""

import statistics
import time

from django.utils import timezone


def measure(results, context) -> None:
    from papers.models import Paper
    from papers.trending import refresh_trending

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        refreshed = refresh_trending(now=timezone.now())
        timings.append(time.perf_counter() - started)
        if timings[-1] > 10:  # slow enough that one run says it
            break
    results.add("trending_refresh_s", statistics.median(timings), "s")
    results.add("trending_refresh_papers", refreshed, "papers")
    results.add("catalogue_papers", Paper.objects.count(), "papers")
