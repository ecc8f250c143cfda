"""Bounded load test on loopback: gunicorn on PostgreSQL, locust's simulated readers.

    make load                      # 100 readers for 60 s (needs PostgreSQL and Redis running)
    .venv/bin/python bench/load.py --users 20 --seconds 15

It recreates a database of its own (paperhub_load), loads the demo catalogue,
prepares one logged-in session per simulated reader, starts gunicorn with
production settings (DEBUG off, Redis cache so rate limits are shared), runs
locust headless (bench/locustfile.py) and then checks:

- zero failed requests (any 4xx/5xx, a 429 included, or a connection error);
- (before either run) every worker warmed with visitors' pages of each kind (`warm_workers`), as a
  long-running server is: nothing of a simulated reader's own is warmed;
- (a figure, not a check) the same number of users at the same pace against the
  floor view (bench/floor_urls.py) on the same server first: `load_p95_vs_floor`
  is paperhub's p95 over the floor's as locust saw them, `load_server_p95_vs_floor`
  the same from gunicorn's own timings (its access log), and the CPU seconds of
  the server, of locust and the machine's busy share say where the cores went;
- every upvote the site accepted is in the database once, and each paper's
  upvote_count equals its upvotes before the run plus those accepted.

Figures go to var/load/results.json (not committed); the exit status is 0 only if
both checks pass. Not part of `make test` or CI.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from importlib import import_module
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "var" / "load"
LOCUST = ROOT / ".venv-bench" / "bin" / "locust"
UPVOTE_PATH = "/papers/{pk}/upvote/"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--database", default="paperhub_load", help="dropped and created again on each run")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis server URL")
    parser.add_argument("--redis-db", type=int, default=12, help="cache in this DB, broker in the next")
    return parser.parse_args()


def app_environment(args) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        # paperhub's settings plus the floor view at /bench/floor/ (bench/settings.py).
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_FLOOR": "on",
        "DATABASE_URL": f"{args.pg}/{args.database}",
        "DJANGO_DEBUG": "off",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{args.port}",
        # Plain http on loopback: no TLS proxy in front.
        "DJANGO_SECURE_SSL_REDIRECT": "off",
        "DJANGO_SECURE_COOKIES": "off",
        "DJANGO_HSTS_SECONDS": "0",
        "CACHE_URL": f"{args.redis}/{args.redis_db}",
        "CELERY_BROKER_URL": f"{args.redis}/{args.redis_db + 1}",
        "EMAIL_URL": f"eml://{WORK / 'mail'}",
        "PAPERHUB_VAR_DIR": str(WORK / "var"),
        "LOG_LEVEL": "WARNING",
    }


def recreate_database(args) -> None:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def manage(env, *command) -> None:
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def prepare_readers(args, env) -> dict:
    """One verified reader and one logged-in session per simulated user; the catalogue's keys; counts before."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    from papers.models import Paper, Tag, Upvote

    # The site's session engine (cached_db): a reader who logged in has their session in the cache too.
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806 (a class)

    sessions = []
    for i in range(args.users):
        user = get_user_model().objects.create_user(username=f"bench{i}", email=f"bench{i}@example.org")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    papers = list(Paper.objects.published().order_by("id"))
    return {
        "upvote_path": UPVOTE_PATH,
        "sessions": sessions,
        "papers": [{"pk": p.pk, "key": p.arxiv_id or p.slug} for p in papers],
        "tags": list(Tag.objects.filter(active=True).values_list("slug", flat=True)),
        "words": ["negation", "retrieval", "language", "model", "learning", "attention", "graph"],
        "before": {str(p.pk): p.upvote_count for p in papers},
        "upvote_rows_before": Upvote.objects.count(),
    }


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer 200 within {timeout}s")


def warm_workers(base: str, fixture: dict, workers: int) -> None:
    """Each kind of page requested by visitors, 2 x `workers` at a time, before anything is timed.

    What a gunicorn worker loads once for its lifetime (templates, the text model's arrays that
    search reads, the first connections) otherwise lands in the first seconds of the timed run and
    queues every request behind it; a long-running server pays it once. Nothing of a reader's own
    (their user, their data, their pages) is warmed: their first requests stay in the figures.
    """
    from concurrent.futures import ThreadPoolExecutor

    paths = ["/", "/?period=week", "/tags/", *(f"/tags/{slug}/" for slug in fixture["tags"][:3])]
    paths += [f"/search/?q={word}" for word in fixture["words"]]
    paths += [f"/papers/{paper['key']}/" for paper in fixture["papers"][:5]]

    def get(path: str) -> None:
        with urllib.request.urlopen(base + path, timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(2 * workers) as pool:
        list(pool.map(get, [path for path in paths for _ in range(2 * workers)]))


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live children (gunicorn and its workers)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
            pending += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat: every process, PostgreSQL's too."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def children_cpu() -> float:
    """CPU seconds used by this process's finished children (each locust run)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_times(log: Path) -> dict:
    """Median and p95 of the time gunicorn itself took per request (its access log's last field, in µs)."""
    times: dict[str, list[float]] = {"floor": [], "pages": []}
    for line in log.read_text().splitlines():
        fields = line.split()
        if len(fields) < 2 or not fields[-1].isdigit() or '"' not in line:
            continue
        times["floor" if "/bench/floor/" in line else "pages"].append(int(fields[-1]) / 1000)
    out = {}
    for name, values in times.items():
        values.sort()
        if values:
            out[f"server_{name}_median_ms"] = round(values[len(values) // 2], 1)
            out[f"server_{name}_p95_ms"] = round(values[int(len(values) * 0.95)], 1)
    return out


def percentile(histogram: Counter, fraction: float) -> float:
    """The response time (ms) below which `fraction` of the requests fall."""
    total = sum(histogram.values())
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= fraction * total:
            return float(value)
    return 0.0


def locust_summary(stats_file: Path) -> dict:
    """Totals and percentiles from locust's final --json-file stats (one entry per endpoint)."""
    entries = json.loads(stats_file.read_text())
    histogram: Counter = Counter()
    for entry in entries:
        histogram.update({float(ms): count for ms, count in entry["response_times"].items()})
    requests = sum(e["num_requests"] for e in entries)
    start = min(e["start_time"] for e in entries)
    end = max(e["last_request_timestamp"] or start for e in entries)
    return {
        "requests": requests,
        "failures": sum(e["num_failures"] for e in entries),
        "requests_per_second": round(requests / max(end - start, 1e-9), 1),
        "median_ms": percentile(histogram, 0.5),
        "p95_ms": percentile(histogram, 0.95),
        "p99_ms": percentile(histogram, 0.99),
        "max_ms": round(max(e["max_response_time"] for e in entries), 1),
        "by_endpoint": {
            f"{e['method']} {e['name']}": {"requests": e["num_requests"], "failures": e["num_failures"]}
            for e in entries
        },
    }


def check_counts(fixture: dict, accepted: list[dict]) -> dict:
    from django.db import connections

    from papers.models import Paper, Upvote

    connections.close_all()  # the connection opened before the run sat idle for a minute: start afresh

    sent = Counter(str(a["paper"]) for a in accepted)
    duplicates = len(accepted) - len({(a["session"], a["paper"]) for a in accepted})
    mismatched = {}
    for paper in Paper.objects.published():
        key = str(paper.pk)
        expected = fixture["before"][key] + sent[key]
        rows = Upvote.objects.filter(paper=paper).count()
        if not (paper.upvote_count == expected == rows):
            mismatched[key] = {"expected": expected, "upvote_count": paper.upvote_count, "rows": rows}
    rows_now = Upvote.objects.count()
    return {
        "upvotes_accepted": len(accepted),
        "duplicate_upvotes_sent": duplicates,
        "upvote_rows_added": rows_now - fixture["upvote_rows_before"],
        "papers_mismatched": mismatched,
        "counts_match": not mismatched and rows_now - fixture["upvote_rows_before"] == len(accepted),
    }


def main() -> int:
    args = parse_args()
    if not LOCUST.exists():
        raise SystemExit("locust is missing: make load (it creates .venv-bench from bench/requirements.txt)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = app_environment(args)

    print(f"== database {args.database}: migrate, demo catalogue, {args.users} readers")
    recreate_database(args)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_demo")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    # An empty cache, before the readers' sessions are stored (in it too, as a log-in stores them).
    subprocess.run(["redis-cli", "-u", env["CACHE_URL"], "flushdb"], check=True, capture_output=True)
    fixture = prepare_readers(args, env)
    fixture_file = WORK / "fixture.json"
    fixture_file.write_text(json.dumps(fixture))

    print(f"== gunicorn ({args.workers} workers) on 127.0.0.1:{args.port}")
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "paperhub.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{args.port}", "--access-logfile", "-",
         "--access-logformat", '%(h)s "%(r)s" %(s)s %(D)s'],
        cwd=ROOT,
        env=env,
        stdout=(WORK / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{args.port}/healthz")
        print("== warming the workers (each kind of page, as a visitor)")
        warm_workers(f"http://127.0.0.1:{args.port}", fixture, args.workers)

        cpu: dict[str, float] = {}

        def run_locust(user_class: str, stats: str, extra_env: dict) -> subprocess.CompletedProcess:
            # CPU seconds of the server (gunicorn and its workers) and of the load generator (locust) in
            # this run: on a machine this small both share the same cores.
            server_before, locust_before = process_tree_cpu(gunicorn.pid), children_cpu()
            busy_before, total_before = machine_cpu()
            try:
                return _run_locust(user_class, stats, extra_env)
            finally:
                cpu[f"{stats}_server"] = process_tree_cpu(gunicorn.pid) - server_before
                cpu[f"{stats}_locust"] = children_cpu() - locust_before
                busy, total = machine_cpu()
                cpu[f"{stats}_machine_busy"] = (busy - busy_before) / max(total - total_before, 1e-9)

        def _run_locust(user_class: str, stats: str, extra_env: dict) -> subprocess.CompletedProcess:
            return subprocess.run(
                [str(LOCUST), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                 "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", f"{args.seconds}s",
                 "--host", f"http://127.0.0.1:{args.port}", "--json-file", str(WORK / stats), "--only-summary",
                 "--stop-timeout", "10", user_class],
                cwd=ROOT,
                env={**os.environ, "BENCH_FIXTURE": str(fixture_file), **extra_env},
            )  # fmt: skip

        # The floor first: the same number of users at the same pace on the bare view, same server.
        print(f"== locust: {args.users} users on the floor view for {args.seconds} s")
        floor_run = run_locust("Floor", "floor", {})
        print(f"== locust: {args.users} readers for {args.seconds} s")
        upvotes_file = WORK / "upvotes.json"
        locust = run_locust("Reader", "locust", {"BENCH_UPVOTES_OUT": str(upvotes_file)})
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    summary = locust_summary(WORK / "locust.json")
    floor = locust_summary(WORK / "floor.json")
    counts = check_counts(fixture, json.loads(upvotes_file.read_text()))
    errors = [line for line in (WORK / "gunicorn.log").read_text().splitlines() if '" 5' in line or "Traceback" in line]
    results = {
        "users": args.users,
        "seconds": args.seconds,
        "gunicorn_workers": args.workers,
        **summary,
        "floor_requests": floor["requests"],
        "floor_failures": floor["failures"],
        "floor_median_ms": floor["median_ms"],
        "floor_p95_ms": floor["p95_ms"],
        "load_p95_vs_floor": round(summary["p95_ms"] / max(floor["p95_ms"], 1), 2),
        # Where the two cores went: the server's CPU per request, and the load generator's share.
        "cores": os.cpu_count(),
        "server_cpu_ms_per_request": round(1000 * cpu["locust_server"] / max(summary["requests"], 1), 2),
        "floor_server_cpu_ms_per_request": round(1000 * cpu["floor_server"] / max(floor["requests"], 1), 2),
        "server_cpu_s": round(cpu["locust_server"], 1),
        "locust_cpu_s": round(cpu["locust_locust"], 1),
        "floor_server_cpu_s": round(cpu["floor_server"], 1),
        "floor_locust_cpu_s": round(cpu["floor_locust"], 1),
        "machine_busy": round(cpu["locust_machine_busy"], 2),
        "floor_machine_busy": round(cpu["floor_machine_busy"], 2),
        **server_times(WORK / "gunicorn.log"),
        **counts,
        "server_errors_logged": len(errors),
        "locust_exit_status": locust.returncode,
        "floor_locust_exit_status": floor_run.returncode,
    }
    if results.get("server_floor_p95_ms") and results.get("server_pages_p95_ms"):
        # The same ratio from gunicorn's own timings: without the wait in its queue and locust's own delays.
        results["load_server_p95_vs_floor"] = round(results["server_pages_p95_ms"] / results["server_floor_p95_ms"], 2)
    (WORK / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "by_endpoint"}, indent=2))
    print(f"BENCH load_p95_vs_floor {results['load_p95_vs_floor']}")
    if "load_server_p95_vs_floor" in results:
        print(f"BENCH load_server_p95_vs_floor {results['load_server_p95_vs_floor']}")
    ok = summary["failures"] == 0 and counts["counts_match"] and not errors and locust.returncode == 0
    print(
        "== PASS: zero errors, upvote counts match"
        if ok
        else "== FAIL (see var/load/results.json and the logs beside it)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
