"""The import floor: the same snapshot records as Paper rows with a raw bulk_create, in one transaction.

    python -m bench.import_floor FILE

No identity lookups, authors, tags or rules: the least work that puts these
papers in the table, in batches of 1,000 while streaming the file.
"""

import hashlib
import json
import os
import sys
from datetime import UTC, datetime


def main(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperhub.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.utils.text import slugify

    from papers.models import Paper
    from papers.text import collapse_whitespace, normalize_title

    def rows():
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                title = collapse_whitespace(record["title"])
                arxiv_id = record["id"]
                first = record["versions"][0]["created"]
                yield Paper(
                    title=title,
                    title_normalized=normalize_title(title),
                    slug=f"{slugify(title)[:100].strip('-')}-{hashlib.sha1(arxiv_id.encode()).hexdigest()[:8]}",
                    abstract=collapse_whitespace(record["abstract"]),
                    authors_text=collapse_whitespace(record["authors"]),
                    arxiv_id=arxiv_id,
                    arxiv_version=len(record["versions"]),
                    published_at=datetime.strptime(first, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=UTC),
                    primary_category=record["categories"].split()[0],
                    categories=record["categories"].split(),
                    source=Paper.Source.SNAPSHOT,
                    status=Paper.Status.PUBLISHED,
                )

    batch: list = []
    with transaction.atomic():
        for paper in rows():
            batch.append(paper)
            if len(batch) == 1000:
                Paper.objects.bulk_create(batch)
                batch = []
        Paper.objects.bulk_create(batch)


if __name__ == "__main__":
    main(sys.argv[1])
