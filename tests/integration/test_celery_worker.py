import pytest

from paperhub.tasks import ping

pytestmark = pytest.mark.integration


def test_a_task_runs_on_a_real_worker(start_worker, settings):
    assert settings.CELERY_RESULT_BACKEND, "set CELERY_RESULT_BACKEND to read task results"
    worker = start_worker()
    result = ping.delay()
    assert result.get(timeout=60) == "pong"
    assert "paperhub.ping" in worker.output()
