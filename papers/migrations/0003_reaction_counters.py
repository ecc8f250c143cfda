"""Paper.upvote_count and bookmark_count are kept by the database.

Triggers on papers_upvote and papers_bookmark add and subtract as rows come and
go, whatever deletes them: a reader's toggle, a curator's bulk delete in the
admin, the cascade when a reader or a paper is deleted, or raw SQL. So a counter
always equals its rows, in the same transaction. PostgreSQL counts once per
statement (transition tables, so a bulk delete is one UPDATE per paper);
SQLite once per row. The counters are then recounted from the rows once.

SQLite drops a table's triggers when Django rebuilds that table: a later
migration that alters papers_upvote or papers_bookmark on SQLite must run this
migration's SQLite statements again (tests/papers/test_counters.py would fail).
"""

from django.db import migrations

COUNTERS = {"papers_upvote": "upvote_count", "papers_bookmark": "bookmark_count"}


def _postgresql(table: str, counter: str) -> list[str]:
    function = f"{table}_count"
    add = (
        f"UPDATE papers_paper p SET {counter} = p.{counter} + c.n "
        "FROM (SELECT paper_id, count(*) AS n FROM new_rows GROUP BY paper_id) c WHERE p.id = c.paper_id;"
    )
    subtract = (
        f"UPDATE papers_paper p SET {counter} = p.{counter} - c.n "
        "FROM (SELECT paper_id, count(*) AS n FROM old_rows GROUP BY paper_id) c WHERE p.id = c.paper_id;"
    )
    return [
        f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN {subtract} END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN {add} END IF;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """,
        f"""CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table}
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()""",
        f"""CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table}
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()""",
        f"""CREATE TRIGGER {table}_count_update AFTER UPDATE ON {table}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()""",
    ]


def _sqlite(table: str, counter: str) -> list[str]:
    add = f"UPDATE papers_paper SET {counter} = {counter} + 1 WHERE id = NEW.paper_id;"
    subtract = f"UPDATE papers_paper SET {counter} = {counter} - 1 WHERE id = OLD.paper_id;"
    return [
        f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} BEGIN {subtract} END",
        f"CREATE TRIGGER {table}_count_update AFTER UPDATE OF paper_id ON {table} BEGIN {subtract} {add} END",
    ]


def _recount(table: str, counter: str) -> str:
    return f"UPDATE papers_paper SET {counter} = (SELECT count(*) FROM {table} r WHERE r.paper_id = papers_paper.id)"


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, counter in COUNTERS.items():
        if vendor == "postgresql":
            statements = _postgresql(table, counter)
        elif vendor == "sqlite":
            statements = _sqlite(table, counter)
        else:
            raise NotImplementedError(f"reaction counters need triggers written for {vendor}")
        for statement in [*statements, _recount(table, counter)]:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    for table in COUNTERS:
        for event in ("insert", "delete", "update"):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_count_{event} ON {table}")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_count_{event}")
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_count()")


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_curators_and_schedules")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
