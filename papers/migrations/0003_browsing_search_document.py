"""Full-text search on PostgreSQL: a stored tsvector kept by a trigger, with a GIN index.

PostgreSQL only (the operations check the connection's vendor; SQLite
searches without any of this). The column `papers_paper.search_document` is
deliberately not a model field: Django never reads or writes it, so list
pages do not carry it and other apps' migrations of Paper never touch it. A
BEFORE INSERT/UPDATE trigger computes it from the title (weight A) and the
authors and abstract (weight B), so every write path (admin, importers,
bulk updates) keeps it current. Ranking reads the stored vector instead of
parsing every matching abstract again (papers/search.py).
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE papers_paper ADD COLUMN IF NOT EXISTS search_document tsvector",
    """
    CREATE OR REPLACE FUNCTION papers_paper_search_document() RETURNS trigger AS $$
    BEGIN
        NEW.search_document :=
            setweight(to_tsvector('english'::regconfig, coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector('english'::regconfig,
                         coalesce(NEW.authors_text, '') || ' ' || coalesce(NEW.abstract, '')), 'B');
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS papers_paper_search_document ON papers_paper",
    """
    CREATE TRIGGER papers_paper_search_document
        BEFORE INSERT OR UPDATE OF title, authors_text, abstract ON papers_paper
        FOR EACH ROW EXECUTE FUNCTION papers_paper_search_document()
    """,
    "UPDATE papers_paper SET title = title",  # fills the column for existing rows through the trigger
    "CREATE INDEX IF NOT EXISTS paper_search_gin ON papers_paper USING gin (search_document)",
]

BACKWARD = [
    "DROP INDEX IF EXISTS paper_search_gin",
    "DROP TRIGGER IF EXISTS papers_paper_search_document ON papers_paper",
    "DROP FUNCTION IF EXISTS papers_paper_search_document()",
    "ALTER TABLE papers_paper DROP COLUMN IF EXISTS search_document",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_browsing_trending_schedule")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
