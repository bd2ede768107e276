"""The embedded defaults that `make run` uses work with no server at all: a SQLite file under
the var directory and kombu's filesystem broker under var/broker.

Everything runs in subprocesses on ``config.settings.local`` with DATABASE_URL unset and
DOCKET_VAR_DIR pointing into a temporary folder, so nothing is left in the checkout.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

COUNT_ROWS = (
    "import json; from django.apps import apps; "
    "print(json.dumps({m._meta.label: m._default_manager.count() for m in apps.get_models()}))"
)
SEND_REMINDERS = (
    "from reporting.tasks import send_due_reminders; print(send_due_reminders.delay().id)"
)


@pytest.fixture
def var_dir(tmp_path):
    var = tmp_path / "var"
    # What scripts/run.sh creates before anything talks to the broker.
    (var / "broker" / "queue").mkdir(parents=True)
    (var / "broker" / "processed").mkdir(parents=True)
    return var


@pytest.fixture
def manage(tmp_path, var_dir):
    """``manage(*args)``: run manage.py on the embedded defaults; returns its stdout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith(("CELERY_", "DJANGO_", "DOCKET_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DOCKET_VAR_DIR=str(var_dir),
        CELERY_BROKER_URL="filesystem://",
    )

    def run(*args: str) -> str:
        # cwd is the temporary folder: anything written relative to it stays there.
        result = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    return run


def _rows(manage) -> dict[str, int]:
    return json.loads(manage("shell", "--no-imports", "-c", COUNT_ROWS).strip().splitlines()[-1])


def test_migrate_and_load_demo_twice_on_sqlite(manage, var_dir):
    manage("migrate", "--noinput")
    assert (var_dir / "docket.sqlite3").is_file(), "the default database is var/docket.sqlite3"

    first = manage("load_demo")
    assert "Loaded the demo" in first
    loaded = _rows(manage)
    assert loaded["accounts.Agency"] == 2
    assert loaded["incidents.Incident"] >= 7
    assert loaded["reporting.Obligation"] >= 7

    second = manage("load_demo")
    assert "nothing changed" in second
    assert "docket-demo-2026" in second, "the sign-ins are printed every time"
    assert "http://127.0.0.1:8000/" in second
    assert _rows(manage) == loaded


def test_a_task_goes_through_the_filesystem_broker(manage, var_dir):
    manage("migrate", "--noinput")
    task_id = manage("shell", "--no-imports", "-c", SEND_REMINDERS).strip().splitlines()[-1]

    messages = list((var_dir / "broker" / "queue").glob("*.msg"))
    assert len(messages) == 1, messages
    assert messages[0].name.endswith(".celery.msg"), "queued on the default 'celery' queue"
    headers = json.loads(messages[0].read_text())["headers"]
    assert headers["task"] == "reporting.tasks.send_due_reminders"
    assert headers["id"] == task_id


PAGES_WITHOUT_DEBUG = (
    "import json; from django.conf import settings; from django.test import Client; "
    "c = Client(HTTP_HOST='127.0.0.1'); "
    "missing = c.get('/no-such-page/'); css = c.get('/static/docket/docket.css'); "
    "print(json.dumps({'debug': settings.DEBUG, 'missing': missing.status_code, "
    "'lists_patterns': b'URLconf' in missing.content or b'Using the URLconf' in missing.content, "
    "'css': css.status_code}))"
)


def test_make_run_serves_without_debug_and_still_serves_static_files(manage):
    """DEBUG is opt-in (a 404 would list every URL pattern); WhiteNoise serves the static
    files without it."""
    seen = json.loads(manage("shell", "--no-imports", "-c", PAGES_WITHOUT_DEBUG).splitlines()[-1])
    assert seen == {"debug": False, "missing": 404, "lists_patterns": False, "css": 200}
