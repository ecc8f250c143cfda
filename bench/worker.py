"""The Celery app the bench's worker runs: paperhub's own, plus query counting and the digest floor task.

    celery -A bench.worker worker ...

With BENCH_QUERY_LOG set, each finished task appends `<task name> <SQL queries>`
to that file, counted by a database execute wrapper in each pool process.
"""

import os

from celery.signals import task_postrun, task_prerun, worker_process_init

from paperhub.celery import app

__all__ = ["app"]
_count = {"queries": 0, "at_start": 0}


def _counting(execute, sql, params, many, context):
    _count["queries"] += 1
    return execute(sql, params, many, context)


@worker_process_init.connect
def _install_counter(**kwargs):
    if os.environ.get("BENCH_QUERY_LOG"):
        from django.db import connection

        connection.execute_wrappers.append(_counting)


@task_prerun.connect
def _task_started(**kwargs):
    _count["at_start"] = _count["queries"]


@task_postrun.connect
def _task_finished(task=None, **kwargs):
    log = os.environ.get("BENCH_QUERY_LOG")
    if log and task is not None:
        with open(log, "a") as out:
            out.write(f"{task.name} {_count['queries'] - _count['at_start']}\n")


_BODY: dict[str, str] = {}


@app.task(name="bench.send_prerendered")
def send_prerendered(start: int, count: int, text_size: int, html_size: int) -> int:
    """The digest floor: `count` pre-rendered messages over one SMTP connection, like a digest chunk."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection

    if not _BODY:
        line = "A pre-rendered digest line of the size paperhub's digests have. "
        _BODY["text"] = (line * (text_size // len(line) + 1))[:text_size]
        _BODY["html"] = ("<p>" + line + "</p>\n") * (html_size // (len(line) + 8) + 1)
    messages = []
    for i in range(start, start + count):
        message = EmailMultiAlternatives(
            subject="Trending in #bench · floor",
            body=_BODY["text"],
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[f"floor{i:06d}@bench.example.org"],
            headers={"List-Id": "paperhub digest <digest.bench>", "List-Unsubscribe": "<https://bench/unsubscribe/>"},
        )
        message.attach_alternative(_BODY["html"], "text/html")
        messages.append(message)
    with get_connection() as connection:
        return connection.send_messages(messages)
