"""Settings for the benchmark servers: paperhub's own, plus the floor view when BENCH_FLOOR is on.

Everything paperhub reads from the environment is read the same way (the
bench sets DJANGO_DEBUG=off and the other production variables). The only
addition is the floor: a bare view rendering a small template, reachable at
/bench/floor/ through the same middleware, and never part of paperhub's own URLs.
"""

import os

from paperhub.settings import *  # noqa: F403
from paperhub.settings import BASE_DIR, TEMPLATES

BENCH_FLOOR = os.environ.get("BENCH_FLOOR", "off").lower() in {"1", "on", "true", "yes"}

if BENCH_FLOOR:
    ROOT_URLCONF = "bench.floor_urls"
    TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]

# DEBUG off serves static files from a manifest: the bench collects them into a temporary folder.
if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
