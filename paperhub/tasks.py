"""Project-level tasks."""

from celery import shared_task


@shared_task(name="paperhub.ping")
def ping() -> str:
    """Answer 'pong': proves a worker consumes the broker (health and CI)."""
    return "pong"
