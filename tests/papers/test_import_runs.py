"""papers.import_runs: claiming a run once, taking over after a dead worker, live progress."""

import pytest
from django.core.files.base import ContentFile

from papers import import_runs
from papers.models import ImportRun, Paper

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = ImportRun(file_name="x.jsonl")
    run.upload.save("x.jsonl", ContentFile(b'{"title": "One"}\n{"title": "Two"}\n'), save=False)
    run.save()
    return run


def test_a_run_is_imported_once_whatever_the_deliveries(queued):
    assert import_runs.run(queued.pk).status == ImportRun.Status.DONE
    assert import_runs.run(queued.pk) is None
    assert import_runs.run(queued.pk, redelivered=True) is None  # done is done
    assert Paper.objects.count() == 2


def test_a_redelivered_task_takes_over_a_run_its_dead_worker_left_running(queued):
    ImportRun.objects.filter(pk=queued.pk).update(status=ImportRun.Status.RUNNING)
    assert import_runs.run(queued.pk) is None  # a second, ordinary delivery does not
    run = import_runs.run(queued.pk, redelivered=True)
    assert (run.status, run.created, run.read) == (ImportRun.Status.DONE, 2, 2)


def test_progress_is_read_from_the_cache_while_running_and_from_the_row_after(queued):
    from django.core.cache import cache

    ImportRun.objects.filter(pk=queued.pk).update(status=ImportRun.Status.RUNNING)
    queued.refresh_from_db()
    cache.set(f"papers:import-run:{queued.pk}:progress", {**vars(import_runs.Progress()), "read": 7})
    assert import_runs.progress_of(queued).read == 7
    ImportRun.objects.filter(pk=queued.pk).update(status=ImportRun.Status.QUEUED)
    finished = import_runs.run(queued.pk)
    assert import_runs.progress_of(finished).read == 2
