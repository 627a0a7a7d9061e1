#!/usr/bin/env bash
# Runs Google's Firestore emulator from the machine image on 127.0.0.1:PORT (REST and gRPC on one port),
# prints "READY 127.0.0.1:PORT" once it answers, and stops it cleanly on SIGTERM/SIGINT.
# Usage: eng/servers/firestore.sh PORT
set -euo pipefail
port="${1:?usage: firestore.sh PORT}"
here="$(cd "$(dirname "$0")" && pwd)"
launcher="$("$here/find-firestore-emulator.sh")"

# The emulator is a Java program; `setsid` gives it its own process group so that stopping this
# script stops the JVM and everything it started, and nothing is left behind holding the port.
setsid "$launcher" --host=127.0.0.1 --port="$port" >"${TMPDIR:-/tmp}/firestore-$port.log" 2>&1 &
pid=$!
trap 'kill -TERM -- "-$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 0' TERM INT

# The emulator's first commit loads its storage engine: 1.4 s on a quiet machine here, 10 s and more beside a busy test
# run, which is past a client's 10 s request timeout. So one commit and one query are made here, in a project of their
# own that no service uses, before READY; the app host's health check reads the document this commit writes
# (StoryDream.AppHost/LocalServers/LocalServerExtensions.cs), so the API is not started before the warm-up either.
warmup="http://127.0.0.1:$port/v1/projects/storydream-warmup/databases/(default)/documents"
warm() {
  curl -fsS -m 120 -o /dev/null -X POST "$warmup:commit" -H 'Content-Type: application/json' \
    -d '{"writes":[{"update":{"name":"projects/storydream-warmup/databases/(default)/documents/warmup/ready","fields":{"at":{"stringValue":"'"$(date -u +%FT%TZ)"'"}}}}]}' &&
  curl -fsS -m 120 -o /dev/null -X POST "$warmup:runQuery" -H 'Content-Type: application/json' \
    -d '{"structuredQuery":{"from":[{"collectionId":"warmup"}],"where":{"fieldFilter":{"field":{"fieldPath":"at"},"op":"GREATER_THAN","value":{"stringValue":""}}}}}'
}

for _ in $(seq 1 600); do
  if curl -fsS -m 1 "http://127.0.0.1:$port/" >/dev/null 2>&1; then
    warm || { echo "The Firestore emulator answers on port $port but its warm-up commit failed; its log:" >&2; cat "${TMPDIR:-/tmp}/firestore-$port.log" >&2; kill -TERM -- "-$pid" 2>/dev/null; exit 1; }
    echo "READY 127.0.0.1:$port"
    wait "$pid"
    exit $?
  fi
  kill -0 "$pid" 2>/dev/null || { echo "The Firestore emulator exited before answering on port $port; its log:" >&2; cat "${TMPDIR:-/tmp}/firestore-$port.log" >&2; exit 1; }
  sleep 0.1
done
echo "The Firestore emulator did not answer on port $port within 60 s." >&2
kill -TERM -- "-$pid" 2>/dev/null
exit 1
