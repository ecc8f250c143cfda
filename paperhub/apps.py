from django.apps import AppConfig


class PaperhubConfig(AppConfig):
    """The project package as an app: its system checks and templates."""

    name = "paperhub"
    verbose_name = "paperhub"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
