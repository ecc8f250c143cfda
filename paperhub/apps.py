from django.apps import AppConfig


class PaperhubConfig(AppConfig):
    """The project package as an app: its system checks and templates."""

    name = "paperhub"
    verbose_name = "paperhub"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from . import checks  # noqa: F401  (registers the deploy checks)
        from .authentication import forget_user

        # A user saved (password, email, staff flag, last login) or deleted is read afresh on the next request.
        post_save.connect(forget_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="paperhub.forget_user")
        post_delete.connect(forget_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="paperhub.forget_user")
