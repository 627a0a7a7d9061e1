#!/usr/bin/env bash
# Prints the path of the image's cloud_firestore_emulator launcher, or says exactly what is missing.
set -euo pipefail
if ! command -v gcloud >/dev/null; then
  echo "The Google Cloud SDK (gcloud) is not on PATH. The Firestore emulator ships in it: install the SDK and its 'cloud-firestore-emulator' component." >&2
  exit 4
fi
root="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)"
launcher="$root/platform/cloud-firestore-emulator/cloud_firestore_emulator"
if [ -z "$root" ] || [ ! -x "$launcher" ]; then
  echo "The Firestore emulator is not in the Google Cloud SDK at '${root:-?}' (expected $launcher). Install the 'cloud-firestore-emulator' component (apt: google-cloud-cli-firestore-emulator)." >&2
  exit 4
fi
if ! command -v java >/dev/null; then
  echo "Java is not on PATH; the Firestore emulator needs a Java 11+ runtime (apt: default-jre-headless)." >&2
  exit 4
fi
echo "$launcher"
