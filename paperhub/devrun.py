"""`make run`'s supervisor: the web server, a Celery worker and beat in one terminal, stopped together.

    python -m paperhub.devrun --host 127.0.0.1 --port 8000

When SITE_URL is unset it becomes http://HOST:PORT, so links in emails point at
the server that sent them; it is recorded in var/site_url, which the settings
read when SITE_URL is unset, so `manage.py send_digests --force` run beside it
links there too. The three run in their own process groups, so a
Ctrl-C reaches only this supervisor, which stops them in order: the web server
and beat at once; the worker gets a warm shutdown (finish the current task),
then after WORKER_GRACE seconds a cold one (an unfinished task goes back to the
broker: tasks are acknowledged late), then SIGKILL. All is over within
STOP_SECONDS, and it exits 0: a Ctrl-C is how `make run` is meant to end.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WORKER_GRACE = 2.0
STOP_SECONDS = 8.0
DEMO_LOGINS = [
    "Demo curator (Curators group, /admin/): curator@example.com / paperhub-demo",
    "Demo operator (superuser, /admin/): admin@example.com / paperhub-demo",
    "Demo readers: reader1@example.com, reader2@example.com, reader3@example.com / paperhub-demo",
]


def site_url(host: str, port: str) -> str:
    """The URL a browser on this machine uses: a wildcard bind address becomes 127.0.0.1."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def record_site_url(url: str) -> None:
    """Write the served address to var/site_url: settings use it when SITE_URL is unset (commands run beside)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperhub.settings")
    from django.conf import settings

    settings.RUN_SITE_URL_FILE.write_text(url + "\n")


def mail_line() -> str:
    """Where this configuration delivers mail, read from the settings themselves (PAPERHUB_VAR_DIR, EMAIL_URL)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperhub.settings")
    from django.conf import settings

    if getattr(settings, "EMAIL_FILE_PATH", None):
        return f"Emails are written to {settings.EMAIL_FILE_PATH}/ as .eml files."
    return f"Emails are sent by {settings.EMAIL_BACKEND} (EMAIL_URL)."


def commands(host: str, port: str) -> dict[str, list[str]]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "paperhub"]
    return {
        "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [*celery, "worker", "-l", "info", "--concurrency", "2", "--without-gossip", "--without-mingle"],
        "beat": [*celery, "beat", "-l", "info"],
    }


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(processes: dict[str, subprocess.Popen]) -> None:
    """Stop every process within STOP_SECONDS: TERM; the worker a cold shutdown after WORKER_GRACE; then KILL."""
    started = time.monotonic()
    # Only each main process is asked: the worker stops its own pool processes.
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    cold_sent = False
    while any(process.poll() is None for process in processes.values()):
        elapsed = time.monotonic() - started
        worker = processes.get("worker")
        if not cold_sent and elapsed > WORKER_GRACE and worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGQUIT)  # Celery's cold shutdown
            cold_sent = True
        if elapsed > STOP_SECONDS:
            for process in processes.values():
                _kill_group(process)
            break
        time.sleep(0.1)
    for process in processes.values():
        process.wait()
        _kill_group(process)  # anything a process left behind in its group


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    args = parser.parse_args(argv)
    os.environ.setdefault("SITE_URL", site_url(args.host, args.port))
    record_site_url(os.environ["SITE_URL"])
    for line in [*DEMO_LOGINS, mail_line(), f"Links in emails point at {os.environ['SITE_URL']}/"]:
        print(line)
    print(f"paperhub: {site_url(args.host, args.port)}/  (Ctrl-C stops web, worker and beat)", flush=True)

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    processes = {
        name: subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
        for name, command in commands(args.host, args.port).items()
    }
    try:
        while not stopping:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                print(f"paperhub: {', '.join(exited)} stopped; stopping the others.", file=sys.stderr, flush=True)
                stop(processes)
                return 1
            time.sleep(0.2)
    finally:
        if stopping:
            print("\npaperhub: stopping web, worker and beat…", flush=True)
        stop(processes)
    print("paperhub: stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
