#!/usr/bin/env bash
# Sets up what is missing, then runs everything locally through the app host (Redis, the emulators,
# every service and the dev dashboard). Arguments go to the app host, e.g. `bash eng/run.sh publish --output deploy/k8s`.
# Usage: bash eng/run.sh [app host arguments...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash eng/setup.sh
# Locally everything runs against emulators: a probe of the GCE metadata server must fail at once on a
# closed loopback port instead of leaving the machine.
if [ -z "${GCE_METADATA_HOST:-}" ]; then
  GCE_METADATA_HOST="127.0.0.1:$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
fi
export GCE_METADATA_HOST GCE_METADATA_IP="$GCE_METADATA_HOST"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
exec dotnet run --project StoryDream.AppHost -- "$@"
