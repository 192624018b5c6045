#!/bin/bash
# Stops the daemons that deploy/slurm/local-up.sh DIR started (listed in
# DIR/started), newest first: SIGTERM, then SIGKILL after 10 s.
set -uo pipefail

[ $# -eq 1 ] || {
    echo "usage: local-down.sh DIR" >&2
    exit 1
}
started=$1/started
[ -f "$started" ] || exit 0
tac "$started" | while read -r name pid; do
    [ -n "${pid:-}" ] || continue
    # Only a process that still is the daemon recorded (a pid may be reused).
    grep -q "$name" "/proc/$pid/comm" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    echo "local-down.sh: stopped $name ($pid)" >&2
done
rm -f "$started"
