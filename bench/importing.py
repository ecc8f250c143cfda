"""Import: snapshot-format records through the real importer vs a raw bulk_create of the same rows.

Both run as child processes against the bench's own import database (the
bench database's name + `_import`), emptied before each run, with the same
200 tags and a keyword rule each (what a real catalogue has). The importer is
`python manage.py import_papers --format snapshot FILE`; the floor is
bench/import_floor.py. Peak memory is the child's own maximum RSS
(os.wait4), measured at a quarter of the input and at the whole input: a
streaming importer's peak stays flat.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from . import db, vocab
from .dataset import CATEGORIES, Text

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = int(os.environ.get("BENCH_IMPORT_TIMEOUT", "1800"))


def write_snapshot(path: Path, n: int, *, seed: int = 4) -> None:
    """n records in the arXiv metadata snapshot format (the Kaggle/Cornell JSON Lines dump)."""
    rng = np.random.default_rng(seed)
    text = Text(rng)
    topics = text.content[:600]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            created = start + timedelta(minutes=int(i * 5))
            topic = list(rng.choice(topics, size=3))
            names = [
                (str(rng.choice(vocab.LAST_NAMES)), f"{rng.choice(vocab.FIRST_NAMES)[0]}.")
                for _ in range(int(rng.integers(1, 7)))
            ]
            versions = [
                {
                    "version": f"v{v + 1}",
                    "created": (created + timedelta(days=7 * v)).strftime("%a, %d %b %Y %H:%M:%S GMT"),
                }
                for v in range(int(rng.integers(1, 4)))
            ]
            categories = list(dict.fromkeys(rng.choice(CATEGORIES, size=int(rng.integers(1, 4))).tolist()))
            record = {
                "id": f"{created:%y%m}.{i % 100000:05d}",
                "submitter": f"{names[0][1]} {names[0][0]}",
                "authors": ", ".join(f"{first} {last}" for last, first in names),
                "title": text.title(topic),
                "comments": f"{int(rng.integers(4, 40))} pages",
                "journal-ref": None,
                "doi": None,
                "report-no": None,
                "categories": " ".join(categories),
                "license": None,
                "abstract": "  " + text.abstract(topic) + "\n",
                "versions": versions,
                "update_date": (created + timedelta(days=30)).strftime("%Y-%m-%d"),
                "authors_parsed": [[last, first, ""] for last, first in names],
            }
            out.write(json.dumps(record) + "\n")


def import_database_url() -> str:
    url = db.bench_url()
    return db.with_name(url, f"{db.name_of(url)}_import")


def _psql_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def prepare_database(env: dict) -> None:
    """Create and migrate the import database, with the bench catalogue's tags and a rule for each."""
    import psycopg

    url = env["DATABASE_URL"]
    db.create(url, drop=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    from papers.models import Tag

    tags = list(Tag.objects.values_list("name", "slug", "description"))
    with psycopg.connect(_psql_url(url), autocommit=True) as conn:
        for name, slug, description in tags:
            tag_id = conn.execute(
                "INSERT INTO papers_tag (name, slug, description, active, created_at) "
                "VALUES (%s, %s, %s, true, now()) RETURNING id",
                [name, slug, description],
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO papers_tagrule (tag_id, kind, pattern, active, created_at) "
                "VALUES (%s, 'keywords', %s, true, now())",
                [tag_id, name],
            )


def empty_catalogue(url: str) -> None:
    import psycopg

    with psycopg.connect(_psql_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE papers_paper, papers_author RESTART IDENTITY CASCADE")


def _hwm_mb(pid: int) -> float:
    """The process's peak RSS so far (VmHWM), in MB; 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(command: list[str], env: dict, log: Path) -> tuple[float, float, int]:
    """Run a child to completion: (seconds, peak RSS in MB, exit code).

    The peak is the child's own VmHWM, polled while it runs: wait4's ru_maxrss
    would start from the bench's own RSS, which a forked child inherits.
    """
    started = time.perf_counter()
    peak = 0.0
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        while process.poll() is None:
            peak = max(peak, _hwm_mb(process.pid))
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                break
            time.sleep(0.02)
    seconds = time.perf_counter() - started
    return seconds, peak, process.returncode


def count_papers(url: str) -> int:
    import psycopg

    with psycopg.connect(_psql_url(url)) as conn:
        return conn.execute("SELECT count(*) FROM papers_paper").fetchone()[0]


def measure(results, context) -> None:
    tmp: Path = context["tmp"]
    n = max(1000, round(100_000 * context["scale"]))
    quarter = n // 4
    env = {**os.environ, "DATABASE_URL": import_database_url()}
    prepare_database(env)
    files = {}
    for size in (quarter, n):
        files[size] = tmp / f"snapshot-{size}.jsonl"
        write_snapshot(files[size], size)
    runs = {}
    for label, size, command in (
        ("floor", n, [sys.executable, "-m", "bench.import_floor", str(files[n])]),
        ("importer_quarter", quarter, [sys.executable, "manage.py", "import_papers", "--format", "snapshot"]),
        ("importer", n, [sys.executable, "manage.py", "import_papers", "--format", "snapshot"]),
    ):
        if label.startswith("importer"):
            command = [*command, str(files[size])]
        empty_catalogue(env["DATABASE_URL"])
        seconds, peak_mb, code = run_child(command, env, tmp / f"import-{label}.log")
        imported = count_papers(env["DATABASE_URL"])
        if code != 0 or imported != size:
            tail = (tmp / f"import-{label}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{label}: exit {code}, {imported} of {size} papers after {seconds:.0f} s:\n{tail}")
        runs[label] = {"seconds": seconds, "rate": size / seconds, "peak_mb": peak_mb}
        print(f"bench: import {label}: {size} records in {seconds:.1f} s, peak {peak_mb:.0f} MB", flush=True)
    results.add("import_records", n, "records")
    results.add("import_rate", runs["importer"]["rate"], "rows/s")
    results.add("import_floor_rate", runs["floor"]["rate"], "rows/s")
    results.add("import_rate_vs_floor", runs["importer"]["rate"] / runs["floor"]["rate"])
    results.add("import_peak_mb", runs["importer"]["peak_mb"], "MB")
    results.add("import_peak_mb_quarter", runs["importer_quarter"]["peak_mb"], "MB")
    results.add("import_peak_growth", runs["importer"]["peak_mb"] / runs["importer_quarter"]["peak_mb"])
    results.add("import_floor_peak_mb", runs["floor"]["peak_mb"], "MB")
