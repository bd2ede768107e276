#!/usr/bin/env bash
# `make run`: Docket on its embedded defaults — SQLite in var/, the Celery worker with beat on
# kombu's filesystem broker in var/broker, mail printed here. Migrates, loads the demo (once),
# then runs the web server and the worker until Ctrl-C, which stops all of them.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
CELERY=.venv/bin/celery
VAR_DIR="${DOCKET_VAR_DIR:-var}"
HOST_PORT="${DOCKET_RUN_ADDRESS:-127.0.0.1:8000}"
export DOCKET_RUN_ADDRESS="$HOST_PORT" # the demo loader and the settings read it too

# An empty DATABASE_URL means "not set": the embedded SQLite file.
if [[ -z "${DATABASE_URL:-}" ]]; then
    unset DATABASE_URL
    echo "==> Database: SQLite, $VAR_DIR/docket.sqlite3"
else
    echo "==> Database: DATABASE_URL from the environment (${DATABASE_URL%%:*})"
fi

# kombu's filesystem transport does not create its folders.
mkdir -p "$VAR_DIR/broker/queue" "$VAR_DIR/broker/processed" "$VAR_DIR/broker/control"

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
"$PY" manage.py load_demo
# Signs the demo's chains (creating var/signing-key.pem, mode 0600, the first time); beat
# signs again every hour. A chain that does not verify is named here and not signed.
"$PY" manage.py checkpoint || echo "warning: some chains were not checkpointed (see above)" >&2
URL="$("$PY" -c 'from core.run_address import run_url; print(run_url())')"

worker=""
web=""

# shellcheck disable=SC2086 # $pids and $groups are split on purpose
stop() {
    # Ask the web server and the worker to stop (the worker then stops its pool and beat),
    # wait for them, and kill their process groups (set -m below gave each its own): at once
    # on a second Ctrl-C, after 20 s if they hang. A second TERM (make passes its own on to
    # us) must not cut the clean-up short.
    trap - EXIT
    trap '' TERM
    trap ':' INT # interrupts `wait` below
    local pid pids="" groups="" watchdog
    for pid in $worker $web; do
        pids="$pids $pid"
        groups="$groups -$pid"
    done
    [[ -n "$pids" ]] || return 0
    echo "Stopping the web server and the worker…"
    kill -TERM $pids 2>/dev/null || true
    (
        for _ in $(seq 40); do sleep 0.5; done
        kill -KILL -- $groups 2>/dev/null
    ) &
    watchdog=$!
    wait $pids 2>/dev/null || true
    kill -KILL "$watchdog" 2>/dev/null || true # it inherited the ignored TERM
    kill -KILL -- $groups 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set -m # background jobs get their own process groups (and keep SIGINT/SIGTERM)
"$CELERY" -A config worker --beat \
    --scheduler django_celery_beat.schedulers:DatabaseScheduler \
    --loglevel INFO --concurrency 1 --hostname "docket@%h" &
worker=$!
"$PY" manage.py runserver "$HOST_PORT" --noreload &
web=$!
set +m

sleep 3
if kill -0 "$worker" 2>/dev/null && kill -0 "$web" 2>/dev/null; then
    echo "==> Docket is running at $URL (sign-ins above). Ctrl-C stops everything."
fi

# Until either dies; `sleep & wait` keeps Ctrl-C prompt (a trap runs as soon as `wait` returns).
while kill -0 "$worker" 2>/dev/null && kill -0 "$web" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
if ! kill -0 "$web" 2>/dev/null; then
    echo "The web server stopped (is $HOST_PORT already in use?)." >&2
else
    echo "The Celery worker stopped." >&2
fi
exit 1
