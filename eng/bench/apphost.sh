#!/usr/bin/env bash
# Benchmark: the Aspire app host beside the last home-made one (built from git history in a temporary worktree), in one
# run: cold start to all healthy (median of RUNS, default 3), the whole local stack's memory (RSS of every process of the
# run, each at its first all-healthy point), and the time of a test suite run in each tree.
# Usage: bash eng/bench/apphost.sh   (env RUNS=3, TESTS=common|apphost|all|none: the .NET tests both trees have (by
#                                     fully qualified name), the AppHost tests, eng/test.sh, or nothing;
#                                     BASELINE=<commit> instead of the last commit before the move to Aspire;
#                                     ASPIRE=<commit> to run the Aspire side from that commit, e.g. the move itself,
#                                     rather than from this tree)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
runs="${RUNS:-3}" tests="${TESTS:-common}"
export GCE_METADATA_HOST="${GCE_METADATA_HOST:-127.0.0.1:9}" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The last commit whose app host was our own: the parent of the commit that deleted its orchestrator.
baseline="${BASELINE:-$(git rev-list -1 HEAD -- StoryDream.AppHost/Orchestration/Orchestrator.cs)^}"
baseline="$(git rev-parse --short "$baseline")"
tree="$(mktemp -d /tmp/storydream-bench-baseline.XXXXXX)"
aspire_dir="$root"
[ -n "${ASPIRE:-}" ] && aspire_dir="$(mktemp -d /tmp/storydream-bench-aspire.XXXXXX)"
work="$(mktemp -d)"
cleanup() {
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
  # The older trees' gateway tests leave two session pods running (a leak fixed since): stop whatever still runs from
  # the temporary worktrees before they are removed.
  local temporary p cwd
  for temporary in "$tree" "$aspire_dir"; do
    [ "$temporary" = "$root" ] && continue
    for p in /proc/[0-9]*; do
      cwd="$(readlink "$p/cwd" 2>/dev/null)" || continue
      case "$cwd" in "$temporary"|"$temporary"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
    done
    git -C "$root" worktree remove --force "$temporary" >/dev/null 2>&1 || rm -rf "$temporary"
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: baseline (home-made app host) is $baseline, in a worktree at $tree"
git worktree add --detach "$tree" "$baseline" >/dev/null 2>&1
# Both trees' npm lockfiles are the same: share this tree's packages. Each tree's session pod is built from its own
# source (the pod's protocol changed since: pod secrets).
bash "$root/eng/setup.sh" >/dev/null || { echo "bench: bash eng/setup.sh failed; run it to see what is missing." >&2; exit 1; }
other_trees=("$tree")
if [ "$aspire_dir" != "$root" ]; then
  echo "bench: Aspire side from $(git rev-parse --short "$ASPIRE"), in a worktree at $aspire_dir"
  git worktree add --detach "$aspire_dir" "$ASPIRE" >/dev/null 2>&1
  other_trees+=("$aspire_dir")
fi
for other in "${other_trees[@]}"; do
  ln -s "$root/eng/storage-emulator/node_modules" "$other/eng/storage-emulator/node_modules"
  ln -s "$root/session-pod/node_modules" "$other/session-pod/node_modules"
  (cd "$other/session-pod" && npm run build --silent >/dev/null)
done
echo "bench: building both app hosts..."
dotnet build "$aspire_dir/StoryDream.AppHost" -nologo -v quiet -clp:ErrorsOnly >/dev/null
dotnet build "$tree/StoryDream.AppHost" -nologo -v quiet -clp:ErrorsOnly >/dev/null

now_ms() { date +%s%3N; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
children() { local pid; for pid in "$@"; do cat "/proc/$pid/task/"*/children 2>/dev/null; done; }
tree_of() {  # pids of the given processes and all their descendants
  local level=("$@") all=("$@")
  while [ ${#level[@]} -gt 0 ]; do
    mapfile -t level < <(children "${level[@]}" | tr ' ' '\n' | grep -v '^$' || true)
    all+=("${level[@]}")
  done
  printf '%s\n' "${all[@]}"
}
rss_mb() { local kb=0 pid v; for pid in "$@"; do v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true); kb=$((kb + ${v:-0})); done; echo $((kb / 1024)); }

# start KIND LOG: starts one app host in the background; sets $pid.
start() {
  local kind="$1" log="$2" gateway dashboard
  gateway=$(free_port); dashboard=$(free_port)
  if [ "$kind" = aspire ]; then
    # Three ports in a row for the dashboard (UI, OTLP, resource service): retry until a free trio.
    while :; do dashboard=$((20000 + RANDOM % 30000)); for p in 0 1 2; do (exec 3<>"/dev/tcp/127.0.0.1/$((dashboard + p))") 2>/dev/null && continue 2; done; break; done
    STORYDREAM_RUN_NO_BUILD=1 STORYDREAM_DEV_DIRECTORY="$work/dev-$kind" bash "$aspire_dir/eng/run.sh" --gateway-port "$gateway" --dashboard-port "$dashboard" >"$log" 2>&1 &
  else
    STORYDREAM_DEV_DIRECTORY="$work/dev-$kind" dotnet "$tree/StoryDream.AppHost/bin/Debug/net10.0/StoryDream.AppHost.dll" \
      --no-setup --gateway-port "$gateway" --dashboard-port "$dashboard" >"$log" 2>&1 &
  fi
  pid=$!
}

# Every process of a run: the app host's tree, and for Aspire also DCP's (it detaches, watching the app host's pid).
stack_pids() {
  local kind="$1" top="$2" apphost dcp
  if [ "$kind" = aspire ]; then
    apphost=$(children "$top" | tr ' ' '\n' | grep -v '^$' | head -1)
    dcp=$(pgrep -f -- "dcp start-apiserver --monitor $apphost( |\$)" || true)
    tree_of "$top" $dcp
  else
    tree_of "$top"
  fi
}

declare -A start_ms rss
for kind in homemade aspire; do
  ready_line="resources are healthy"; [ "$kind" = aspire ] && ready_line="StoryDream is ready"
  times=()
  for run in $(seq 1 "$runs"); do
    log="$work/$kind-$run.log"
    t0=$(now_ms)
    start "$kind" "$log"
    for _ in $(seq 1 1800); do
      grep -q "$ready_line" "$log" && break
      kill -0 "$pid" 2>/dev/null || { echo "bench: the $kind app host exited:"; cat "$log"; exit 1; }
      sleep 0.1
    done
    grep -q "$ready_line" "$log" || { echo "bench: the $kind app host was not healthy within 180 s:"; cat "$log"; exit 1; }
    times+=($(( $(now_ms) - t0 )))
    if [ "$run" = 1 ]; then
      sleep 5  # let the services settle (JIT, first health checks) before measuring memory
      mapfile -t pids < <(stack_pids "$kind" "$pid")
      rss[$kind]=$(rss_mb "${pids[@]}")
      echo "bench: $kind: ${#pids[@]} processes, ${rss[$kind]} MB"
    fi
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    sleep 2
    echo "bench: $kind run $run: all healthy after ${times[-1]} ms"
  done
  start_ms[$kind]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
done

# list_tests DIR: the fully qualified names of a tree's .NET tests, one per line (a theory once).
list_tests() {
  (cd "$1" && dotnet test StoryDream.Tests --no-build --list-tests 2>/dev/null) |
    sed -n '/The following Tests are available:/,$p' | sed '1d' | sed -E 's/^[[:space:]]+//; s/\(.*$//' | grep -E '^StoryDream\.Tests\.' | sort -u
}
# by_area TRX: the summed duration of its tests per area (the namespace under StoryDream.Tests), "area seconds" lines.
by_area() {
  grep -o '<UnitTestResult [^>]*>' "$1" | sed -nE 's/.* testName="StoryDream\.Tests\.([A-Za-z]+)\.[^"]*".* duration="([0-9]+):([0-9]+):([0-9.]+)".*/\1 \2 \3 \4/p' |
    awk '{ s[$1] += $2 * 3600 + $3 * 60 + $4 } END { for (a in s) printf "%s %.1f\n", a, s[a] }' | sort
}

declare -A test_s
if [ "$tests" != none ]; then
  filter=""
  for kind in homemade aspire; do
    dir="$aspire_dir"; [ "$kind" = homemade ] && dir="$tree"
    dotnet build "$dir/StoryDream.Tests" -nologo -v quiet -clp:ErrorsOnly >/dev/null
  done
  if [ "$tests" = common ]; then
    list_tests "$tree" >"$work/tests-homemade.txt"
    list_tests "$aspire_dir" >"$work/tests-aspire.txt"
    comm -12 "$work/tests-homemade.txt" "$work/tests-aspire.txt" >"$work/tests-common.txt"
    echo "bench: .NET tests: $(wc -l <"$work/tests-common.txt") in both trees, $(comm -13 "$work/tests-homemade.txt" "$work/tests-aspire.txt" | wc -l) only in Aspire's, $(comm -23 "$work/tests-homemade.txt" "$work/tests-aspire.txt" | wc -l) only in the home-made one's"
    filter="$(sed 's/^/FullyQualifiedName=/' "$work/tests-common.txt" | paste -sd'|')"
  fi
  for kind in homemade aspire; do
    dir="$aspire_dir"; [ "$kind" = homemade ] && dir="$tree"
    t0=$(now_ms)
    case "$tests" in
      all) (cd "$dir" && bash eng/test.sh) >"$work/tests-$kind.log" 2>&1 || echo "bench: $kind: some tests failed (see the time anyway)" ;;
      common) (cd "$dir" && dotnet test StoryDream.Tests --no-build --logger trx --results-directory "$work/trx-$kind" --filter "$filter") >"$work/tests-$kind.log" 2>&1 \
        || echo "bench: $kind: some tests failed (see the time anyway)" ;;
      *) (cd "$dir" && dotnet test StoryDream.Tests --no-build --filter "FullyQualifiedName~StoryDream.Tests.AppHost") >"$work/tests-$kind.log" 2>&1 \
        || echo "bench: $kind: some tests failed (see the time anyway)" ;;
    esac
    test_s[$kind]=$(( ($(now_ms) - t0) / 1000 ))
    echo "bench: $kind tests ($tests): $(grep -E 'Passed!|Failed!|passed, [0-9]+ failed' "$work/tests-$kind.log" | tail -1)"
    grep -E '^\s+Failed [A-Za-z]' "$work/tests-$kind.log" | sed "s/^ */bench: $kind: /" || true
  done
  if [ "$tests" = common ]; then
    # Where the time goes: each area's tests, their durations summed (tests of different classes run side by side, so
    # the sums exceed the wall-clock time).
    by_area "$work"/trx-homemade/*.trx >"$work/areas-homemade.txt"
    by_area "$work"/trx-aspire/*.trx >"$work/areas-aspire.txt"
    printf '\n%-44s %14s %14s %8s\n' "tests in both trees, summed per area" "Aspire 13.6" "home-made" "ratio"
    join -a1 -a2 -e 0 -o 0,1.2,2.2 "$work/areas-aspire.txt" "$work/areas-homemade.txt" |
      awk '{ printf "%-44s %12.1f s %12.1f s %7s\n", $1, $2, $3, ($3 > 0 ? sprintf("%.2fx", $2 / $3) : "-") }'
  fi
fi

printf '\n%-44s %14s %14s %8s\n' "measure" "Aspire 13.6" "home-made" "ratio"
printf '%-44s %12.1f s %12.1f s %7.2fx\n' "cold start to all healthy (median of $runs)" \
  "$(echo "${start_ms[aspire]}/1000" | bc -l)" "$(echo "${start_ms[homemade]}/1000" | bc -l)" "$(echo "${start_ms[aspire]}/${start_ms[homemade]}" | bc -l)"
printf '%-44s %11d MB %11d MB %7.2fx\n' "memory (RSS) of the whole local stack" "${rss[aspire]}" "${rss[homemade]}" "$(echo "${rss[aspire]}/${rss[homemade]}" | bc -l)"
if [ "$tests" != none ]; then
  label="test suite time ($tests)"; [ "$tests" = common ] && label="the $(wc -l <"$work/tests-common.txt") .NET tests both trees have"
  printf '%-44s %12d s %12d s %7.2fx\n' "$label" "${test_s[aspire]}" "${test_s[homemade]}" "$(echo "${test_s[aspire]}/${test_s[homemade]}" | bc -l)"
fi
echo "targets: all healthy <= 20 s on these 2 cores; test suite <= 1.2x its time before."
