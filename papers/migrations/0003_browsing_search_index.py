"""A GIN index for full-text search, on PostgreSQL only (SQLite searches without it).

The indexed expression is the one papers/search.py queries (title weight A,
authors and abstract weight B, english configuration), so the planner uses it.
It is written out here rather than imported so the migration never changes
when the module does.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "paper_search_gin"


def search_index() -> GinIndex:
    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "authors_text", "abstract", weight="B", config="english"
    )
    return GinIndex(vector, name=INDEX_NAME)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.add_index(apps.get_model("papers", "Paper"), search_index())


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("papers", "Paper"), search_index())


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_browsing_trending_schedule")]

    operations = [migrations.RunPython(create_index, drop_index)]
