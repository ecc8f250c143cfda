"""Digests: the real pipeline (dispatch + send tasks on a real worker) into a local SMTP sink.

10,000 readers (at scale 1) are due: half of the data set's readers, the
other half have their digest turned off for the run. The worker (bench/worker.py:
paperhub's Celery app, counting SQL queries per task) consumes Redis DB 9 and
sends over SMTP to bench/smtp_sink.py. The floor sends the same number of
pre-rendered messages, of the pipeline's average size, through the same worker,
broker, SMTP backend and sink, in chunks of the same size. Afterwards the
run's digests are deleted and the settings restored, so the data set stays reusable.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .pages import _free_port

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 100
TIMEOUT = int(os.environ.get("BENCH_DIGEST_TIMEOUT", "1800"))


class Sink:
    def __init__(self, tmp: Path):
        self.port = _free_port()
        self.state_file = tmp / "smtp-sink.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.smtp_sink", str(self.port), str(self.state_file)], cwd=ROOT
        )
        deadline = time.monotonic() + 20
        while not self.state_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.1)

    def state(self) -> dict:
        for _ in range(10):
            try:
                return json.loads(self.state_file.read_text())
            except (ValueError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError("cannot read the SMTP sink's state")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class Worker:
    def __init__(self, tmp: Path, *, smtp_port: int, concurrency: int):
        self.query_log = tmp / "worker-queries.log"
        self.query_log.write_text("")
        self.log_path = tmp / "worker.log"
        env = {
            **os.environ,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "BENCH_QUERY_LOG": str(self.query_log),
            "CELERY_TASK_ALWAYS_EAGER": "off",
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.worker", "worker", "-l", "info", "-n", "bench@%h"]
            + ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def task_queries(self) -> list[tuple[str, int]]:
        lines = self.query_log.read_text().split("\n")
        return [(name, int(n)) for name, n in (line.split() for line in lines if line.strip())]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def _dispatch_task():
    """The Celery task that runs dispatch_due_digests, if subscriptions/tasks.py has one."""
    from subscriptions import tasks

    for value in vars(tasks).values():
        name = getattr(value, "name", "")
        if hasattr(value, "delay") and isinstance(name, str) and "dispatch" in name:
            return value
    return None


def _purge_broker() -> None:
    from paperhub.celery import app

    app.control.purge()


def reset(marker: dict, due: int) -> int:
    """Delete digests earlier runs made, due the first `due` readers only. Returns the last kept digest id."""
    from subscriptions.models import Digest, DigestSettings

    base = marker["max_digest_id"]
    Digest.objects.filter(pk__gt=base).delete()
    first_ids = list(DigestSettings.objects.order_by("user_id").values_list("user_id", flat=True)[:due])
    DigestSettings.objects.update(frequency=DigestSettings.Frequency.OFF)
    # Due this very hour: the scheduler sends a period only within a few hours of its due instant.
    DigestSettings.objects.filter(user_id__in=first_ids).update(
        frequency=DigestSettings.Frequency.DAILY, delivery_hour=timezone.now().hour, timezone="UTC"
    )
    return base


def restore(base: int) -> None:
    from subscriptions.models import Digest, DigestSettings

    Digest.objects.filter(pk__gt=base).delete()
    DigestSettings.objects.update(frequency=DigestSettings.Frequency.DAILY, delivery_hour=0)


def _wait(condition, what: str, timeout: float = TIMEOUT) -> None:
    from django.db import InterfaceError, OperationalError

    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (OperationalError, InterfaceError):
            # PostgreSQL restarted under us (this machine's server is shared): reconnect and keep waiting.
            connection.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def measure(results, context) -> None:
    from subscriptions.models import Digest

    marker = context["marker"]
    tmp: Path = context["tmp"]
    wanted = int(os.environ.get("BENCH_DIGESTS", "0")) or round(10_000 * context["scale"]) or 1
    due = min(wanted, marker["sizes"]["readers"])
    concurrency = int(os.environ.get("BENCH_WORKER_CONCURRENCY", str(os.cpu_count() or 2)))
    base = reset(marker, due)
    _purge_broker()
    sink = Sink(tmp)
    worker = Worker(tmp, smtp_port=sink.port, concurrency=concurrency)
    try:
        from paperhub.celery import app

        # Warm the worker's pool processes (imports, SMTP backend) before anything is timed.
        for i in range(concurrency):
            app.send_task("bench.send_prerendered", args=[900_000 + 10 * i, 5, 1000, 2000])
        _wait(lambda: sink.state()["messages"] >= 5 * concurrency, "the warm-up messages", timeout=120)
        warm_state = sink.state()
        warm = warm_state["messages"]
        # The real pipeline: dispatch (on the worker when there is a task for it), then the send tasks.
        task = _dispatch_task()
        terminal = {Digest.Status.SENT, Digest.Status.SKIPPED, Digest.Status.FAILED}
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as local_queries:
            if task is not None:
                app.send_task(task.name)
            else:
                from subscriptions.scheduling import dispatch_due_digests

                dispatch_due_digests(now=timezone.now())
        run = Digest.objects.filter(pk__gt=base)
        _wait(lambda: run.count() >= due, f"{due} digests to be dispatched", timeout=300)
        _wait(lambda: not run.exclude(status__in=terminal).exists(), "every digest to be sent")
        pipeline_seconds = time.perf_counter() - started
        statuses = dict.fromkeys(terminal, 0)
        for status in run.values_list("status", flat=True):
            statuses[status] = statuses.get(status, 0) + 1
        sent = statuses[Digest.Status.SENT]
        # The sink writes its counts a few times a second: let the last messages show.
        try:
            _wait(lambda: sink.state()["messages"] - warm >= sent, "the sink to count every message", timeout=10)
        except RuntimeError:
            pass  # fewer messages than sent digests: reported below

        mailed = sink.state()
        mailed["messages"] -= warm
        mailed["bytes"] -= warm_state["bytes"]
        queries = sum(n for name, n in worker.task_queries() if not name.startswith("bench.")) + len(local_queries)
        avg_size = mailed["bytes"] / max(mailed["messages"], 1)

        # The floor: as many pre-rendered messages of that size, same worker, chunks and SMTP path.
        before = mailed["messages"]
        started = time.perf_counter()
        for start in range(0, due, CHUNK):
            size = [start, min(CHUNK, due - start), int(avg_size * 0.3), int(avg_size * 0.6)]
            app.send_task("bench.send_prerendered", args=size)
        _wait(lambda: sink.state()["messages"] - warm - before >= due, f"{due} floor messages")
        floor_seconds = time.perf_counter() - started
    finally:
        worker.stop()
        sink.stop()
        connection.close()
        restore(base)
    pipeline_rate = sent / pipeline_seconds
    floor_rate = due / floor_seconds
    results.add("digest_due", due, "readers")
    results.add("digest_sent", sent, "digests")
    results.add("digest_skipped", statuses[Digest.Status.SKIPPED], "digests")
    results.add("digest_failed", statuses[Digest.Status.FAILED], "digests")
    results.add("digest_rate", pipeline_rate, "msg/s")
    results.add("digest_floor_rate", floor_rate, "msg/s")
    results.add("digest_rate_vs_floor", pipeline_rate / floor_rate)
    results.add("digest_queries_per_digest", queries / max(due, 1))
    results.add("digest_avg_message_kb", avg_size / 1024, "KB")
    if mailed["repeated"] or mailed["messages"] != sent:
        results.notes["digest_delivery"] = (
            f"sink received {mailed['messages']} messages for {sent} sent digests, "
            f"{mailed['repeated']} recipients more than once"
        )
