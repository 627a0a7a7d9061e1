#!/usr/bin/env bash
# Runs firebase-tools' Cloud Storage emulator (library mode, see eng/storage-emulator/README.md) on
# 127.0.0.1:PORT, prints "READY 127.0.0.1:PORT" once its JSON API answers, and stops it cleanly on
# SIGTERM/SIGINT. Usage: eng/servers/storage.sh PORT
set -euo pipefail
port="${1:?usage: storage.sh PORT}"
here="$(cd "$(dirname "$0")/../storage-emulator" && pwd)"
command -v node >/dev/null || { echo "node is not installed: the Storage emulator needs Node.js 20 or later." >&2; exit 3; }
if [ ! -f "$here/node_modules/firebase-tools/package.json" ]; then
  echo "The Storage emulator's packages are not installed ($here/node_modules): run 'bash eng/setup.sh' first." >&2
  exit 3
fi
# exec: the launcher itself receives SIGTERM and stops the server; it makes and removes its own TMPDIR.
exec node "$here/launch.mjs" "$port"
