#!/usr/bin/env bash
# Benchmark: the app host's cold start to all-healthy, and the whole local stack's memory (RSS), each printed
# beside a baseline measured in the same run: the Firestore emulator started alone (the slowest resource, so
# the floor for a start that waits on it), and the app host's own share of the memory.
# Usage: bash eng/bench/apphost.sh   (builds the app host first; env GATEWAY_PORT, DASHBOARD_PORT override ports)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
gateway_port="${GATEWAY_PORT:-5199}"
dashboard_port="${DASHBOARD_PORT:-18899}"
marker="$(cat /proc/sys/kernel/random/uuid)"
log="$(mktemp)"
dev="$(mktemp -d)"

# jq reads the dashboard's resource list, bc does the arithmetic; both are installed when missing.
missing=()
command -v jq >/dev/null || missing+=(jq)
command -v bc >/dev/null || missing+=(bc)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]} with apt-get" >&2
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

dotnet build StoryDream.AppHost -v quiet -nologo >/dev/null
dll="$root/StoryDream.AppHost/bin/Debug/net10.0/StoryDream.AppHost.dll"

now_ms() { date +%s%3N; }

# Baseline: the Firestore emulator alone, from launch to READY.
fs_port=$((20000 + RANDOM % 20000))
fs_start=$(now_ms)
coproc FS { exec bash eng/servers/firestore.sh "$fs_port"; }
fs_pid=$FS_PID
read -r -t 120 line <&"${FS[0]}" || true
fs_ms=$(( $(now_ms) - fs_start ))
kill -TERM "$fs_pid" 2>/dev/null || true
wait "$fs_pid" 2>/dev/null || true

start=$(now_ms)
STORYDREAM_BENCH_MARKER="$marker" STORYDREAM_DEV_DIRECTORY="$dev" \
  dotnet "$dll" --no-setup --gateway-port "$gateway_port" --dashboard-port "$dashboard_port" >"$log" 2>&1 &
apphost=$!
cleanup() { kill -TERM "$apphost" 2>/dev/null || true; wait "$apphost" 2>/dev/null || true; rm -rf "$dev" "$log"; }
trap cleanup EXIT

for _ in $(seq 1 1800); do
  grep -q "resources are healthy" "$log" && break
  kill -0 "$apphost" 2>/dev/null || { echo "The app host exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
grep -q "resources are healthy" "$log" || { echo "Not healthy within 180 s:"; cat "$log"; exit 1; }
healthy_ms=$(( $(now_ms) - start ))
sleep 5  # let the services settle (JIT, first health checks) before measuring memory

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
parent_of() { awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A resource_of rss_of
while read -r name pid; do resource_of[$pid]=$name; done < <(curl -s "http://127.0.0.1:$dashboard_port/api/resources" | jq -r '.[] | "\(.name) \(.pid)"')
resource_of[$apphost]="(app host)"
total=0
for dir in /proc/[0-9]*; do
  pid="${dir#/proc/}"
  if { tr '\0' '\n' <"$dir/environ" | grep -qx "STORYDREAM_BENCH_MARKER=$marker"; } 2>/dev/null; then
    kb=$(rss_kb "$pid")
    total=$(( total + kb ))
    # Charge each process to the resource it descends from (an emulator's JVM leaves its launcher's group).
    up=$pid
    while [ "$up" -gt 1 ] && [ -z "${resource_of[$up]:-}" ]; do up=$(parent_of "$up"); done
    owner="${resource_of[$up]:-(other)}"
    rss_of[$owner]=$(( ${rss_of[$owner]:-0} + kb ))
  fi
done

printf '\n%-44s %10s   %s\n' "measure" "value" "baseline"
printf '%-44s %8.1f s   %.1f s (Firestore emulator alone)\n' "cold start to all healthy" "$(echo "$healthy_ms/1000" | bc -l)" "$(echo "$fs_ms/1000" | bc -l)"
printf '%-44s %7d MB   %d MB (the app host itself)\n' "memory (RSS) of the whole local stack" $(( total / 1024 )) $(( ${rss_of["(app host)"]:-0} / 1024 ))
echo
echo "per resource (RSS of its processes):"
for owner in "${!rss_of[@]}"; do printf '  %-12s %6d MB\n' "$owner" $(( ${rss_of[$owner]} / 1024 )); done | sort
