"""Import of one large file per streamed format: an arXiv Atom file and a Hugging Face daily papers JSON file.

Each file is generated at BENCH_IMPORT_STREAM_MB megabytes (200 by default)
and imported by `python manage.py import_papers FILE` in a child process into
the bench's `_import` database (emptied first, with the bench's 200 tags and a
keyword rule each, as in bench/importing.py). The figure is the child's peak
RSS (VmHWM): the parsers read the file in chunks, so it must stay under 300 MB
whatever the file's size.
"""

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from . import vocab
from .dataset import CATEGORIES, Text
from .importing import count_papers, empty_catalogue, import_database_url, prepare_database, run_child

MEGABYTES = int(os.environ.get("BENCH_IMPORT_STREAM_MB", "200"))


def _papers(rng: np.random.Generator):
    """An endless run of (arxiv id, title, abstract, authors, categories, created) with distinct ids."""
    text = Text(rng)
    topics = text.content[:600]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    i = 0
    while True:
        created = start + timedelta(minutes=i)
        topic = list(rng.choice(topics, size=3))
        authors = [
            f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}" for _ in range(int(rng.integers(1, 7)))
        ]
        categories = list(dict.fromkeys(rng.choice(CATEGORIES, size=int(rng.integers(1, 4))).tolist()))
        # Five-digit numbers within a month: a new month every 90,000 papers.
        month = start.replace(year=2020 + (i // 90000) // 12, month=(i // 90000) % 12 + 1)
        arxiv_id = f"{month:%y%m}.{i % 90000:05d}"
        yield arxiv_id, text.title(topic), text.abstract(topic), authors, categories, created
        i += 1


def write_atom(path: Path, megabytes: int, *, seed: int = 7) -> int:
    limit = megabytes * 1024 * 1024
    n = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">\n  <title>bench</title>\n'
        )
        for arxiv_id, title, abstract, authors, categories, created in _papers(np.random.default_rng(seed)):
            if out.tell() >= limit:
                break
            stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(
                f"  <entry>\n    <id>http://arxiv.org/abs/{arxiv_id}v1</id>\n    <updated>{stamp}</updated>\n"
                f"    <published>{stamp}</published>\n    <title>{escape(title)}</title>\n"
                f"    <summary>{escape(abstract)}</summary>\n"
                + "".join(f"    <author><name>{escape(a)}</name></author>\n" for a in authors)
                + f'    <link href="http://arxiv.org/abs/{arxiv_id}v1" rel="alternate" type="text/html"/>\n'
                f'    <link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}v1" rel="related"/>\n'
                f'    <arxiv:primary_category term="{categories[0]}" scheme="http://arxiv.org/schemas/atom"/>\n'
                + "".join(f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>\n' for c in categories)
                + "  </entry>\n"
            )
            n += 1
        out.write("</feed>\n")
    return n


def write_huggingface(path: Path, megabytes: int, *, seed: int = 8) -> int:
    limit = megabytes * 1024 * 1024
    n = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for arxiv_id, title, abstract, authors, _categories, created in _papers(np.random.default_rng(seed)):
            if out.tell() >= limit:
                break
            item = {
                "paper": {
                    "id": arxiv_id,
                    "authors": [{"_id": f"a{n}{k}", "name": a, "hidden": False} for k, a in enumerate(authors)],
                    "publishedAt": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "title": title,
                    "summary": abstract,
                    "upvotes": int(n % 97),
                },
                "publishedAt": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "title": title,
                "numComments": 0,
            }
            out.write(("," if n else "") + json.dumps(item))
            n += 1
        out.write("]\n")
    return n


def measure(results, context) -> None:
    tmp: Path = context["tmp"]
    env = {**os.environ, "DATABASE_URL": import_database_url()}
    prepare_database(env)
    peaks = {}
    for label, write in (("atom", write_atom), ("hf", write_huggingface)):
        path = tmp / f"stream-{label}.{'xml' if label == 'atom' else 'json'}"
        records = write(path, MEGABYTES)
        size_mb = path.stat().st_size / 1024 / 1024
        empty_catalogue(env["DATABASE_URL"])
        command = [sys.executable, "manage.py", "import_papers", str(path)]
        seconds, peak_mb, code = run_child(command, env, tmp / f"import-stream-{label}.log")
        imported = count_papers(env["DATABASE_URL"])
        path.unlink()
        if code != 0 or imported != records:
            tail = (tmp / f"import-stream-{label}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{label}: exit {code}, {imported} of {records} papers after {seconds:.0f} s:\n{tail}")
        print(
            f"bench: import_stream {label}: {size_mb:.0f} MB, {records} records in {seconds:.1f} s, "
            f"peak {peak_mb:.0f} MB",
            flush=True,
        )
        peaks[label] = peak_mb
        results.add(f"import_stream_{label}_mb", size_mb, "MB")
        results.add(f"import_stream_{label}_records", records, "records")
        results.add(f"import_stream_{label}_seconds", seconds, "s")
        results.add(f"import_stream_{label}_peak_mb", peak_mb, "MB")
    results.add("import_stream_peak_mb", max(peaks.values()), "MB")
