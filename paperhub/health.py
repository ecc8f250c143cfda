"""/healthz: is each dependency the site needs answering?

The answer is public (a load balancer probes it), so it says only "ok" or
"error" per dependency; the exception, which can name the database host, port
and name, goes to the log.
"""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with celery_app.connection_for_write(celery_app.conf.broker_url) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


logger = logging.getLogger(__name__)

CHECKS = {"database": check_database, "broker": check_broker}


@never_cache
@require_GET
def healthz(request):
    """200 with every dependency "ok", or 503 naming the one that failed (the why is logged)."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # any failure of a dependency is a "down", logged with its traceback
            logger.exception("healthz: the %s check failed", name)
            results[name] = "error"
        else:
            results[name] = "ok"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results},
        status=200 if healthy else 503,
    )
