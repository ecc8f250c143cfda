"""Full-text search on SQLite: an FTS5 index of papers kept by triggers (papers/fts.py).

SQLite only; PostgreSQL keeps its tsvector column from 0001_initial. SQLite
drops papers_paper's triggers when Django rebuilds that table, so a later
migration that rebuilds it needs nothing special: papers/apps.py runs
`ensure_index` after every migrate and puts missing triggers back (and rebuilds
the index).
"""

from django.db import migrations


def create(apps, schema_editor):
    from papers.fts import ensure_index

    ensure_index(schema_editor.connection)


def drop(apps, schema_editor):
    from papers.fts import drop_index

    drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("papers", "0005_api_tokens")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
