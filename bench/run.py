"""`make bench`: build or reuse the data set, run every measure against its floor, print and save.

    python -m bench.run [--scale 0.01] [--rebuild]
        [--only trending,vectors,pages,search,preview,choose,digests,import,import_stream]

Each figure is printed as `BENCH <name> <value> [unit]` as soon as it is
measured, and all of them are written to bench/results.json with the scale and
the machine. A measure that fails (say, a piece it measures is missing) is
reported and the others still run.
"""

import argparse
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
MEASURES = ["trending", "vectors", "pages", "search", "preview", "choose", "digests", "import", "import_stream"]


class Results:
    def __init__(self):
        self.figures: dict[str, dict] = {}
        self.notes: dict[str, str] = {}

    def add(self, name: str, value, unit: str = "") -> None:
        if isinstance(value, float):
            value = round(value, 3 if abs(value) < 100 else 1)
        self.figures[name] = {"value": value, "unit": unit}
        print(f"BENCH {name} {value}{' ' + unit if unit else ''}", flush=True)


def configure_environment(tmp: Path, scale: float) -> None:
    """Production settings for every process the bench starts (gunicorn, workers, importers)."""
    from . import db

    url = db.bench_url(scale)
    os.environ["BENCH_DATABASE_URL"] = url
    db.name_of(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "off",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "off",
            "DJANGO_SECURE_COOKIES": "off",
            "DJANGO_HSTS_SECONDS": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BENCH_FLOOR": "on",
            "BENCH_STATIC_ROOT": str(tmp / "static"),
            "PAPERHUB_VAR_DIR": str(tmp / "var"),
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/9"),
            "CELERY_RESULT_BACKEND": "",
            # Production shares one cache between web workers (docs/settings.md); Redis DB 8 is the bench's.
            "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/8"),
            "LOG_LEVEL": "WARNING",
            # The preview is measured back to back; readers get 6 a minute (docs/settings.md).
            "DIGEST_PREVIEW_RATE_LIMIT": "off",
            "PYTHONUNBUFFERED": "1",
        }
    )


def prepare_database(scale: float, *, rebuild: bool) -> dict:
    """Migrate the bench database and build the data set unless its marker matches the scale."""
    import django
    from django.core.management import call_command
    from django.db import connection

    from . import dataset, db

    url = db.bench_url()
    if not db.exists(url):
        db.create(url)
    django.setup()
    marker = None if rebuild else dataset.read_marker()
    if not dataset.marker_matches(marker, scale):
        connection.close()
        why = "asked to" if rebuild else f"its marker is {marker!r}"
        print(f"bench: building the data set at scale {scale} in {db.name_of(url)} ({why})", flush=True)
        db.create(url, drop=True)
        call_command("migrate", verbosity=0)
        started = time.monotonic()
        marker = dataset.build(scale)
        marker["build_seconds"] = round(time.monotonic() - started, 1)
        dataset.write_marker(marker)
        print(f"bench: data set built in {marker['build_seconds']} s", flush=True)
    else:
        call_command("migrate", verbosity=0)
        print(f"bench: reusing the data set at scale {scale} (built {marker['anchor']})", flush=True)
    # What autovacuum does on a site after a bulk load (and after an earlier run's digests and imports):
    # without it no page of the loaded tables is marked all-visible, and an index-only scan reads the
    # heap too (the preview's week upvotes read ~500 blocks of upvotes instead of ~20).
    db.vacuum()
    return marker


def machine() -> dict:
    mem_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "commit": commit.stdout.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1.0")))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ",".join(MEASURES)))
    parser.add_argument("--rebuild", action="store_true", help="build the data set even if one exists")
    parser.add_argument("--build-only", action="store_true", help="build or reuse the data set, measure nothing")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures {sorted(unknown)}; choose from {MEASURES}")

    sys.path.insert(0, str(ROOT))
    # A bench stopped by SIGTERM (timeout, Ctrl-C in make) still runs its `finally` blocks,
    # which stop the servers and workers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="paperhub-bench-"))
    configure_environment(tmp, args.scale)
    marker = prepare_database(args.scale, rebuild=args.rebuild)
    if args.build_only:
        return 0

    from . import choose, digests, import_stream, importing, pages, preview, trending, vectors

    runners = {
        "trending": trending.measure,
        "vectors": vectors.measure,
        "pages": pages.measure_pages,
        "search": pages.measure_search,
        "preview": preview.measure,
        "choose": choose.measure,
        "digests": digests.measure,
        "import": importing.measure,
        "import_stream": import_stream.measure,
    }
    results = Results()
    failed = []
    context = {"scale": args.scale, "marker": marker, "tmp": tmp}
    for name in only:
        print(f"bench: measuring {name}", flush=True)
        started = time.monotonic()
        try:
            runners[name](results, context)
        except Exception as exc:  # report and go on: one missing piece should not hide the others
            traceback.print_exc()
            results.notes[name] = f"failed: {type(exc).__name__}: {exc}"
            failed.append(name)
        print(f"bench: {name} took {time.monotonic() - started:.0f} s", flush=True)

    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures = {**previous.get("figures", {}), **results.figures} if set(only) != set(MEASURES) else results.figures
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "scale": args.scale,
                "dataset": marker,
                "machine": machine(),
                "figures": figures,
                "notes": results.notes,
            },
            indent=2,
        )
        + "\n"
    )
    print("\nbench: summary")
    for name, figure in results.figures.items():
        print(f"BENCH {name} {figure['value']}{' ' + figure['unit'] if figure['unit'] else ''}")
    for name, note in results.notes.items():
        print(f"bench: {name} {note}")
    print(f"bench: wrote {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
