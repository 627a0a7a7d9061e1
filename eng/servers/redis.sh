#!/usr/bin/env bash
# Runs a throw-away Redis on 127.0.0.1:PORT with no persistence, prints "READY 127.0.0.1:PORT" once it
# answers PING, and stops it cleanly on SIGTERM/SIGINT. Usage: eng/servers/redis.sh PORT
set -euo pipefail
port="${1:?usage: redis.sh PORT}"
command -v redis-server >/dev/null || { echo "redis-server is not installed: run 'bash eng/setup.sh' first." >&2; exit 3; }

# A test process holds many subscribers that fall behind when the machine is busy; Redis's default pub/sub output limit
# (8 MB within 60 s) would drop their connections, so this local server has none.
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --protected-mode yes \
  --client-output-buffer-limit "pubsub 0 0 0" \
  --daemonize no --loglevel warning --dir "${TMPDIR:-/tmp}" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 0' TERM INT

for _ in $(seq 1 200); do
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
    echo "READY 127.0.0.1:$port"
    wait "$pid"
    exit $?
  fi
  kill -0 "$pid" 2>/dev/null || { echo "redis-server exited before answering on port $port." >&2; exit 1; }
  sleep 0.05
done
echo "redis-server did not answer on port $port within 10 s." >&2
kill -TERM "$pid" 2>/dev/null
exit 1
