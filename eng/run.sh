#!/usr/bin/env bash
# Sets up what is missing, then runs everything locally through the Aspire app host (Redis, the Firestore and Storage
# emulators, the API, the sync worker and the gateway, with Aspire's dashboard). Once every resource is healthy it
# prints the dashboard's login URL, the gateway's URL, a dev token and how to stop. Ctrl+C or SIGTERM stops it all.
# Usage:
#   bash eng/run.sh [--gateway-port N] [--dashboard-port N]   run locally (env STORYDREAM_GATEWAY_PORT, STORYDREAM_DASHBOARD_PORT)
#   bash eng/run.sh publish --output DIR                     write the Kubernetes manifests (kustomize base and overlay)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
mode=run output="" gateway_port="${STORYDREAM_GATEWAY_PORT:-5100}" dashboard_port="${STORYDREAM_DASHBOARD_PORT:-18888}"
if [ "${1:-}" = publish ]; then mode=publish; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --output|-o) [ $# -ge 2 ] || usage; output="$2"; shift 2 ;;
    --gateway-port) [ $# -ge 2 ] || usage; gateway_port="$2"; shift 2 ;;
    --dashboard-port) [ $# -ge 2 ] || usage; dashboard_port="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run: unknown argument '$1'." >&2; usage ;;
  esac
done
if [ "$mode" = publish ] && [ -z "$output" ]; then echo "run: publish needs --output DIR." >&2; usage; fi
for port in "$gateway_port" "$dashboard_port"; do
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65533 ] || { echo "run: '$port' is not a port number (1-65533)." >&2; exit 2; }
done

# STORYDREAM_RUN_NO_BUILD=1 (tests and benchmarks, which built everything already) skips set-up and the build.
if [ "${STORYDREAM_RUN_NO_BUILD:-}" != 1 ]; then
  # Says what is missing (the Firestore emulator, Java, Node 20+, redis-server, the .NET SDK of global.json) and how to get it.
  bash eng/setup.sh || { echo "run: set-up is incomplete (see above for what is missing and how to get it); nothing was started." >&2; exit 1; }
  echo "run: building the app host and the services..."
  dotnet build StoryDream.AppHost -nologo -v quiet -clp:ErrorsOnly || { echo "run: the build failed (see above)." >&2; exit 1; }
fi

# Locally everything runs against emulators: a probe of the GCE metadata server must fail at once on a closed loopback
# port instead of leaving the machine.
if [ -z "${GCE_METADATA_HOST:-}" ]; then
  GCE_METADATA_HOST="127.0.0.1:$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
fi
export GCE_METADATA_HOST GCE_METADATA_IP="$GCE_METADATA_HOST"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
apphost="$root/StoryDream.AppHost/bin/Debug/net10.0/StoryDream.AppHost.dll"

if [ "$mode" = publish ]; then
  # --step publish: the default pipeline would also build and push container images, which cannot work here.
  exec dotnet "$apphost" --operation publish --step publish --output-path "$output"
fi

# The dashboard's browser UI, its OTLP receiver and its resource service take three ports in a row.
otlp_port=$((dashboard_port + 1)) resource_port=$((dashboard_port + 2))
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
check_port() {
  if in_use "$1"; then
    echo "run: port $1 ($2) is already in use on 127.0.0.1. Stop what holds it, or choose another with $3." >&2
    exit 3
  fi
}
check_port "$gateway_port" "the gateway" "--gateway-port N or STORYDREAM_GATEWAY_PORT"
check_port "$dashboard_port" "the dashboard" "--dashboard-port N or STORYDREAM_DASHBOARD_PORT"
check_port "$otlp_port" "the dashboard's OTLP receiver, dashboard port + 1" "--dashboard-port N or STORYDREAM_DASHBOARD_PORT"
check_port "$resource_port" "the dashboard's resource service, dashboard port + 2" "--dashboard-port N or STORYDREAM_DASHBOARD_PORT"

export STORYDREAM_GATEWAY_PORT="$gateway_port"
export ASPNETCORE_URLS="http://localhost:$dashboard_port"
export ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL="http://localhost:$otlp_port"
export ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://localhost:$resource_port"
# The http profile: no development certificate is needed on a fresh machine.
export ASPIRE_ALLOW_UNSECURED_TRANSPORT=true DOTNET_ENVIRONMENT=Development ASPNETCORE_ENVIRONMENT=Development
# A background job of a script ignores SIGINT, so Ctrl+C and SIGTERM are passed on as SIGTERM. The app host stops the
# session pods; DCP, which watches the app host's process, then stops every resource. Waiting for DCP to finish means
# that once this script returns, nothing it started is left.
dotnet "$apphost" &
apphost_pid=$!
trap 'kill -TERM "$apphost_pid" 2>/dev/null || true' TERM INT
status=0
while kill -0 "$apphost_pid" 2>/dev/null; do wait "$apphost_pid" || status=$?; done
while pgrep -f -- "dcp start-apiserver --monitor $apphost_pid( |\$)" >/dev/null; do sleep 0.2; done
exit "$status"
