"""Pages under gunicorn (production settings, DEBUG off) with load from wrk, and search latency.

The floor is a bare view rendering a small template (bench/floor_urls.py),
served by the same gunicorn, settings, middleware and worker count. It is
measured before and after the pages and averaged, so drift during the run
shows up in neither ratio. wrk runs as a second process on loopback with a
fixed duration and connection count.
"""

import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from . import db, vocab

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk_report.lua"
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = 2
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", str(os.cpu_count() or 2)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def collectstatic() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@contextmanager
def gunicorn(tmp: Path, *, workers: int = WORKERS):
    """gunicorn paperhub.wsgi on a free loopback port; yields its base URL."""
    port = _free_port()
    log = (tmp / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "paperhub.wsgi", "--workers", str(workers)]
        + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = get(port, "/bench/floor/")
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{(tmp / 'gunicorn.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def get(
    port: int, path: str, conn: http.client.HTTPConnection | None = None, *, cookie: str | None = None
) -> tuple[int, bytes]:
    status, body, _ = _get(port, path, conn, cookie=cookie)
    return status, body


def _get(port: int, path: str, conn: http.client.HTTPConnection | None = None, *, cookie: str | None = None):
    """(status, body, the X-Page-Cache header or "")."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("X-Page-Cache") or ""
    finally:
        if own:
            conn.close()


def wrk(port: int, paths: list[str], tmp: Path, *, duration: int = DURATION) -> dict:
    """requests/s and latency percentiles of GETs cycling through `paths` for `duration` seconds."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (make bench installs it: apt-get install -y wrk)")
    paths_file = tmp / f"paths-{abs(hash(tuple(paths)))}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", "--timeout", "30s", "-s", str(LUA)]
    base = f"http://127.0.0.1:{port}"
    subprocess.run([*command, f"-d{WARMUP}s", base, "--", str(paths_file)], capture_output=True, check=True)
    done = subprocess.run(
        [*command, f"-d{duration}s", base, "--", str(paths_file)], capture_output=True, text=True, check=True
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    report = json.loads(line)
    seconds = report["duration_us"] / 1e6
    return {
        "rps": report["requests"] / seconds,
        "requests": report["requests"],
        "errors": report["errors"],
        "non2xx": report["non2xx"],
        "p50_ms": report["p50_us"] / 1000,
        "p95_ms": report["p95_us"] / 1000,
        "p99_ms": report["p99_us"] / 1000,
    }


READERS = 50


def reader_cookies(n: int = READERS) -> list[str]:
    """Session cookies of `n` readers who have upvoted papers (their trending pages differ), logged in."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from papers.models import Upvote

    user_ids = list(Upvote.objects.order_by().values_list("user_id", flat=True).distinct()[:n])
    cookies = []
    for user in get_user_model().objects.filter(pk__in=user_ids):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


@contextmanager
def _clients(port: int, connections: int = CONNECTIONS):
    """`connections` keep-alive connections and a thread for each."""
    from concurrent.futures import ThreadPoolExecutor

    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(connections)]
    try:
        with ThreadPoolExecutor(connections) as pool:
            yield conns, pool
    finally:
        for conn in conns:
            conn.close()


def _each_once(port: int, clients, paths: list[str]) -> tuple[list[tuple[int, float, str]], float]:
    """Each path requested once, shared out over the clients' connections in parallel: (status, ms,
    X-Page-Cache header) of each request, and the seconds they took."""
    conns, pool = clients

    def run(conn: http.client.HTTPConnection, share: list[str]) -> list[tuple[int, float, str]]:
        out = []
        for path in share:
            started = time.perf_counter()
            status, _, cached = _get(port, path, conn)
            out.append((status, (time.perf_counter() - started) * 1000, cached))
        return out

    shares = [paths[i :: len(conns)] for i in range(len(conns))]
    started = time.perf_counter()
    done = [row for rows in pool.map(run, conns, shares) for row in rows]
    return done, time.perf_counter() - started


def _summary(done: list[tuple[int, float, str]], elapsed: float) -> dict:
    latencies = [ms for _, ms, _ in done]
    return {
        "rps": len(done) / elapsed,
        "non2xx": sum(1 for status, _, _ in done if status != 200),
        "cache_hits": sum(1 for _, _, cached in done if cached == "hit"),
        "p50_ms": _percentile(latencies, 50),
        "p95_ms": _percentile(latencies, 95),
        "max_ms": max(latencies),
    }


def once_each(port: int, paths: list[str], *, connections: int = CONNECTIONS) -> dict:
    """Each path requested once, over `connections` keep-alive connections in parallel: req/s and latencies."""
    with _clients(port, connections) as clients:
        return _summary(*_each_once(port, clients, paths))


def once_each_in_turns(port: int, paths: list[str], floor: str, *, turn: int = 50) -> tuple[dict, dict]:
    """`once_each` of these paths and of as many requests of `floor`, in turns of `turn` requests over
    the same connections: each figure is taken through the same seconds as the other, so a moment
    when the shared machine is slower slows both (300 floor requests taken alone, one after another,
    answered at 735 to 1,167 req/s on the bench's machine of 2026-12-04)."""
    pages, floors, page_seconds, floor_seconds = [], [], 0.0, 0.0
    with _clients(port) as clients:
        for start in range(0, len(paths), turn):
            chunk = paths[start : start + turn]
            done, seconds = _each_once(port, clients, chunk)
            pages, page_seconds = pages + done, page_seconds + seconds
            done, seconds = _each_once(port, clients, [floor] * len(chunk))
            floors, floor_seconds = floors + done, floor_seconds + seconds
    return _summary(pages, page_seconds), _summary(floors, floor_seconds)


def sample_paths() -> dict[str, list[str]]:
    """The URLs each page measure cycles through: popular tags, random published papers."""
    from django.db.models import Count

    from papers.models import Paper, Tag

    rng = random.Random(6)
    tags = list(
        Tag.objects.filter(active=True).annotate(n=Count("papers")).order_by("-n").values_list("slug", flat=True)[:20]
    )
    published = Paper.objects.published()

    def urls(pks: list[int]) -> list[str]:
        rows = published.filter(pk__in=pks).values_list("pk", "arxiv_id", "slug")
        return [Paper(pk=pk, arxiv_id=a, slug=s).get_absolute_url() for pk, a, s in rows]

    ids = list(published.values_list("pk", flat=True))
    chosen = rng.sample(ids, min(300, len(ids)))
    papers = urls(chosen)
    rng.shuffle(papers)
    # Another 300, for the workers' first paper pages (drawn after, so the measured 300 stay the same).
    first = urls(rng.sample(sorted(set(ids) - set(chosen)), min(300, len(ids) - len(chosen))))
    return {
        "floor": ["/bench/floor/"],
        "trending": ["/"],
        "tag": [f"/tags/{slug}/" for slug in tags],
        "paper": papers,
        "paper_first": first,
    }


def _check(port: int, paths: list[str]) -> None:
    for path in paths[:3]:
        status, _ = get(port, path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}, not 200")


def warm(port: int, lines: list[str]) -> None:
    """Request each distinct path (a "path<TAB>cookie" line: with that cookie) once, one after another.

    wrk's own warm-up cycles through the paths for WARMUP seconds with CONNECTIONS connections; at
    scale 1.0 a tag page takes ~0.3 s to render, so some of the 20 tag pages were first rendered
    inside the measured seconds, and `tag_anon_rps_vs_floor` moved between runs (0.39 to 0.64) with
    how many did. Each page is rendered once a minute at most whatever the traffic, so the measure is
    of the pages as the cache serves them; the cost of a first render is the cold paper page's figure.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for line in dict.fromkeys(lines):
            path, _, cookie = line.partition("\t")
            get(port, path, conn, cookie=cookie or None)
    finally:
        conn.close()


def _render_pages(ids: list[int]) -> int:
    from django.db import connection

    from papers import paper_pages

    connection.close()  # a forked child opens its own connection
    return len(paper_pages.render(ids))


def store_paper_pages(results) -> None:
    """Every published paper's stored page, as a fit leaves them (papers/paper_pages.py): only the
    missing or stale ones are rendered, in one process per core; a data set reused keeps its pages.
    Then each page gets the neighbours' cards it lacks, and the charts a new day made stale are drawn
    again, as the beat entry after midnight does."""
    import multiprocessing

    from django.db import connection
    from django.utils import timezone

    from papers import paper_pages
    from papers.models import PaperPage

    ids = list(paper_pages.stale_ids())
    started = time.perf_counter()
    if ids:
        chunks = [ids[i : i + paper_pages.RENDER_BATCH] for i in range(0, len(ids), paper_pages.RENDER_BATCH)]
        connection.close()
        with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
            pool.map(_render_pages, chunks)
    results.add("paper_pages_rendered", len(ids), "pages")
    if ids:
        results.add("paper_pages_render_ms", (time.perf_counter() - started) * 1000 / len(ids) * WORKERS, "ms")
    # Then the neighbours' cards each page lacks (those rendered in another process's batch), as the
    # render pass does after rendering (`render_missing`).
    started = time.perf_counter()
    copied = paper_pages.copy_similar()
    results.add("paper_pages_copied", copied, "pages")
    results.add("paper_pages_copy_s", time.perf_counter() - started, "s")
    # What the hourly render pass costs when nothing changed: it reads every page's copy and writes none.
    started = time.perf_counter()
    paper_pages.copy_similar()
    results.add("paper_pages_copy_idle_s", time.perf_counter() - started, "s")
    # The charts as the beat entry just after midnight leaves them (papers.redraw_paper_charts): a run on
    # a later day than the pages' render would otherwise measure every cold page drawing and writing its chart.
    started = time.perf_counter()
    redrawn = paper_pages.redraw_charts(now=timezone.now())
    results.add("paper_charts_redrawn", redrawn, "charts")
    if redrawn:
        results.add("paper_charts_redraw_s", time.perf_counter() - started, "s")
    if ids or redrawn or copied:
        db.vacuum(PaperPage)


def clear_cache() -> None:
    """Start every page measure cold: nothing cached from an earlier run."""
    from django.core.cache import cache

    cache.clear()


def measure_pages(results, context) -> None:
    """Visitors' trending and tag pages and readers' trending pages under wrk; 300 papers once each, cold."""
    collectstatic()
    store_paper_pages(results)
    clear_cache()
    tmp = context["tmp"]
    paths = sample_paths()
    # Each reader their own session (and their own upvotes), cycling through the trending tabs.
    cookies = reader_cookies()
    reader_lines = [f"{path}\t{cookie}" for cookie in cookies for path in ("/", "/?period=day", "/?period=month")]
    with gunicorn(tmp) as port:
        for name in ("floor", "trending", "tag"):
            _check(port, paths[name])
        runs = {"floor_before": wrk(port, paths["floor"], tmp)}
        for name, lines in (("trending_anon", paths["trending"]), ("tag_anon", paths["tag"])):
            warm(port, lines)
            runs[name] = wrk(port, lines, tmp)
        warm(port, reader_lines)
        runs["trending_reader"] = wrk(port, reader_lines, tmp)
        runs["floor_after"] = wrk(port, paths["floor"], tmp)
        # The paper page cold: 300 random papers, each visited once (no cache can help: none of them
        # was ever requested, and `paper_cache_hits` says so), against the floor requested the same way
        # by the same client. The workers have served paper pages before (300 others after the cache
        # was cleared, the first they serve: `paper_first_*`), as a running site's workers have: what a
        # worker loads once for its lifetime (the base page, each tag's visitor buttons, the statement
        # prepared on its connection) and what every page shares for a minute (the tags' follower
        # counts) are not a cold page's cost.
        clear_cache()
        first = once_each(port, paths["paper_first"])
        paper, floor_once = once_each_in_turns(port, paths["paper"], paths["floor"][0])
    floor_rps = (runs["floor_before"]["rps"] + runs["floor_after"]["rps"]) / 2
    floor_p95 = (runs["floor_before"]["p95_ms"] + runs["floor_after"]["p95_ms"]) / 2
    results.add("floor_rps", floor_rps, "req/s")
    results.add("floor_p95_ms", floor_p95, "ms")
    results.add("paper_rps", paper["rps"], "req/s")
    results.add("paper_floor_once_rps", floor_once["rps"], "req/s")
    results.add("paper_rps_vs_floor", paper["rps"] / floor_once["rps"])
    results.add("paper_first_rps", first["rps"], "req/s")
    results.add("paper_first_rps_vs_floor", first["rps"] / floor_once["rps"])
    results.add("paper_p50_ms", paper["p50_ms"], "ms")
    results.add("paper_p95_ms", paper["p95_ms"], "ms")
    results.add("paper_max_ms", paper["max_ms"], "ms")
    results.add("paper_cache_hits", paper["cache_hits"], "pages")
    for name, run in (("paper", paper), ("paper_first", first)):
        if run["non2xx"]:
            results.notes[f"{name}_errors"] = f"{run['non2xx']} non-200 answers"
    context["paper_p95_ms"] = paper["p95_ms"]
    for name in ("trending_anon", "tag_anon", "trending_reader"):
        run = runs[name]
        if run["errors"] or run["non2xx"]:
            results.notes[f"{name}_errors"] = f"{run['errors']} socket errors, {run['non2xx']} non-2xx answers"
        results.add(f"{name}_rps", run["rps"], "req/s")
        results.add(f"{name}_rps_vs_floor", run["rps"] / floor_rps)
        results.add(f"{name}_p50_ms", run["p50_ms"], "ms")
        results.add(f"{name}_p95_ms", run["p95_ms"], "ms")
        results.add(f"{name}_p95_vs_floor", run["p95_ms"] / floor_p95)
    context["pages"] = runs


# --- search -------------------------------------------------------------------


def search_queries(n: int = 100) -> list[str]:
    """Realistic queries: common and rare single words, pairs, quoted phrases, exclusions, `or`."""
    rng = random.Random(100)
    counts = vocab.word_frequencies()
    content = vocab.content_words(counts)
    common = content[:150]
    rare = [w for w, c in counts.items() if c == 1 and len(w) > 5]
    phrases = []
    for text in vocab.seed_texts():
        words = [w for w in text.split() if w.isalpha() and len(w) > 3]
        for i in range(0, len(words) - 1, 7):
            phrases.append(f"{words[i].lower()} {words[i + 1].lower()}")
    queries = (
        rng.sample(common, 25)
        + rng.sample(rare, 15)
        + [f"{a} {b}" for a, b in zip(rng.sample(common, 20), rng.sample(content[:600], 20), strict=True)]
        + [f'"{p}"' for p in rng.sample(phrases, 15)]
        + [" ".join(rng.sample(content[:400], 3)) for _ in range(10)]
        + [f"{a} -{b}" for a, b in zip(rng.sample(common, 10), rng.sample(common, 10), strict=True)]
        + [f"{a} or {b}" for a, b in zip(rng.sample(content[:800], 5), rng.sample(rare, 5), strict=True)]
    )
    # Long queries of common words (10 to 14), which once took seconds.
    long = [" ".join(rng.sample(common, rng.randint(10, 14))) for _ in range(LONG_QUERIES)]
    return queries[: n - LONG_QUERIES] + long


LONG_QUERIES = 8


def _latencies(port: int, paths: list[str]) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timings = []
    try:
        for path in paths:
            started = time.perf_counter()
            status, _ = get(port, path, conn)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}, not 200")
    finally:
        conn.close()
    return timings


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def measure_search(results, context) -> None:
    from urllib.parse import quote_plus

    collectstatic()
    clear_cache()
    queries = search_queries()
    paths = sample_paths()["paper"]
    search_paths = [f"/search/?q={quote_plus(q)}" for q in queries]
    with gunicorn(context["tmp"]) as port:
        # Warm each worker's code paths and the database's caches with other requests first.
        _latencies(port, [f"/search/?q={quote_plus(q)}" for q in ("model", "language", "data")] * 4)
        _latencies(port, paths[-20:])
        search = _latencies(port, search_paths)
        paper = _latencies(port, paths[:100])
        floor = _latencies(port, ["/bench/floor/"] * 100)
    results.add("search_p50_ms", _percentile(search, 50), "ms")
    results.add("search_p95_ms", _percentile(search, 95), "ms")
    results.add("paper_by_pk_p50_ms", _percentile(paper, 50), "ms")
    results.add("paper_by_pk_p95_ms", _percentile(paper, 95), "ms")
    results.add("search_p95_vs_paper", _percentile(search, 95) / _percentile(paper, 95))
    results.add("search_floor_p95_ms", _percentile(floor, 95), "ms")
    results.add("search_p95_vs_floor", _percentile(search, 95) / _percentile(floor, 95))
    results.add("search_max_ms", max(search), "ms")
    long = search[-LONG_QUERIES:]
    results.add("search_long_max_ms", max(long), "ms")
    slowest = sorted(zip(search, queries, strict=True), reverse=True)[:5]
    results.notes["search_slowest"] = "; ".join(f"{q!r} {ms:.0f} ms" for ms, q in slowest)
