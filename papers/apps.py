from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _register_search_function(sender, connection, **kwargs):
    from .fts import register_function

    register_function(connection)


def _ensure_search_index(sender, using, **kwargs):
    from django.db import connections

    from .fts import ensure_index

    ensure_index(connections[using])


class PapersConfig(AppConfig):
    name = "papers"
    verbose_name = "Catalogue"

    def ready(self):
        # SQLite's full-text index (papers/fts.py): its triggers call a Python function every connection needs,
        # and a migration that rebuilds papers_paper drops them, so they are put back after every migrate.
        connection_created.connect(_register_search_function, dispatch_uid="papers-search-function")
        post_migrate.connect(_ensure_search_index, sender=self, dispatch_uid="papers-search-index")
