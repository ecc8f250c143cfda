"""How long papers/trending.py's refreshes take at the bench's scale.

- `trending_refresh_s`: the periodic refresh (beat, every 10 minutes), which
  recomputes the papers created, changed or upvoted in its window (20
  minutes). The bench's data set stands still, so the window is placed at its
  end: the papers upvoted in the data set's last 20 minutes.
  `trending_refresh_day_s` is the same with a whole day as the window (every
  paper upvoted in the data set's last day): 72 windows' work at once.
- `trending_repair_s`: the nightly full recomputation (every paper from every
  upvote, writing only the rows that drifted). The first repair after the data
  set was built or migrated may rewrite rows; its own figure says how many.
"""

import statistics
import time
from datetime import datetime, timedelta

from django.utils import timezone


def measure(results, context) -> None:
    from papers.models import Paper
    from papers.trending import RECENT_WINDOW, refresh_recent, refresh_trending

    started = time.perf_counter()
    first = refresh_trending(now=timezone.now())
    results.add("trending_repair_first_s", time.perf_counter() - started, "s")
    results.add("trending_repair_first_written", first, "papers")
    started = time.perf_counter()
    written = refresh_trending(now=timezone.now())
    results.add("trending_repair_s", time.perf_counter() - started, "s")
    results.add("trending_repair_written", written, "papers")

    anchor = datetime.fromisoformat(context["marker"]["anchor"])
    for name, window in (("trending_refresh", RECENT_WINDOW), ("trending_refresh_day", timedelta(days=1))):
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            recomputed = refresh_recent(now=timezone.now(), since=anchor - window)
            timings.append(time.perf_counter() - started)
        results.add(f"{name}_s", statistics.median(timings), "s")
        results.add(f"{name}_papers", recomputed, "papers")
    results.add("catalogue_papers", Paper.objects.count(), "papers")
