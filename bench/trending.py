"""How long papers/trending.py's refresh takes for the whole catalogue (the periodic task's work).

The first refresh after the data set was built or migrated may rewrite every row (the stored form of
the scores changed); the figure is the refresh as beat runs it every 10 minutes after that.
"""

import statistics
import time

from django.utils import timezone


def measure(results, context) -> None:
    from papers.models import Paper
    from papers.trending import refresh_trending

    started = time.perf_counter()
    first = refresh_trending(now=timezone.now())
    results.add("trending_refresh_first_s", time.perf_counter() - started, "s")
    results.add("trending_refresh_first_written", first, "papers")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        written = refresh_trending(now=timezone.now())
        timings.append(time.perf_counter() - started)
    results.add("trending_refresh_s", statistics.median(timings), "s")
    results.add("trending_refresh_written", written, "papers")
    results.add("catalogue_papers", Paper.objects.count(), "papers")
