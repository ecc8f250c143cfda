"""paperhub project package: settings, URLs, Celery app and health check."""

from .celery import app as celery_app

__all__ = ("celery_app",)
