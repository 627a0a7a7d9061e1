#!/usr/bin/env bash
# Sets up what is missing, then runs every test: the .NET solution (its fixture starts Redis and the
# emulators on free loopback ports), the session pod's Node tests and the studio's Vitest tests.
# Ends with one line "N passed, N failed" over all of them; exits non-zero if any test failed, a runner
# crashed, nothing ran, or a process the run started is still running once it ends. Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Redis").
# Usage: bash eng/test.sh [dotnet test arguments...]
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash eng/setup.sh || { echo "test: set-up failed, no test ran." >&2; echo "0 passed, 0 failed"; exit 1; }

# Nothing under test may reach the GCE metadata server; anything that probes it hits a loopback port
# nobody listens on (picked free just now) and fails at once.
if [ -z "${GCE_METADATA_HOST:-}" ]; then
  GCE_METADATA_HOST="127.0.0.1:$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
fi
export GCE_METADATA_HOST GCE_METADATA_IP="$GCE_METADATA_HOST"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
echo "test: GCE_METADATA_HOST=$GCE_METADATA_HOST (closed loopback port)"

passed=0 failed=0 skipped=0 broken=()

# Every process this run starts inherits this marker; after the runners exit, any process still carrying it is a
# leftover (a server a test did not stop). Processes of other runs carry another marker, so they are never counted.
# Build servers are turned off for the run: they outlive it on purpose.
STORYDREAM_TEST_RUN="$(cat /proc/sys/kernel/random/uuid)"
export STORYDREAM_TEST_RUN MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false

# --- .NET ------------------------------------------------------------------------------------------
results="$root/artifacts/test-results"
rm -rf "$results"
echo "test: dotnet test StoryDream.sln"
dotnet_log="$(mktemp)"
dotnet test StoryDream.sln --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 15m --blame-hang-dump-type none "$@" 2>&1 | tee "$dotnet_log"
dotnet_status=${PIPESTATUS[0]}
dotnet_why=""
shopt -s nullglob
trx_files=("$results"/*.trx)
if [ ${#trx_files[@]} -eq 0 ]; then
  broken+=("dotnet test (exit $dotnet_status, no results: did the build fail?)")
else
  # The TRX summary's Counters element has the totals of each test project's run.
  attr() { local v; v="$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters")"; echo "${v:-0}"; }
  for trx in "${trx_files[@]}"; do
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
    passed=$((passed + $(attr passed)))
    failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
    # Skipped tests are in total but not in executed.
    skipped=$((skipped + $(attr total) - $(attr executed)))
  done
  if [ "$dotnet_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    broken+=("dotnet test (exit $dotnet_status with no failed test: a test host crashed or hung, a build failed, or a fixture's cleanup failed; the lines below say which)")
    # CI shows only the end of the output: keep the reason for the end. The TRX's run messages hold xunit's cleanup
    # failures and the test host's crash; the console log holds build errors.
    dotnet_why="$(sed -n '/<RunInfo [^>]*outcome="Error"/,/<\/RunInfo>/{/<\/\{0,1\}RunInfo/d;s/ *<\/\{0,1\}Text>//g;p}' "${trx_files[@]}" | head -20
      grep -E ' error |\[FAIL\]|\[FATAL\]|[Cc]leanup [Ff]ailure|crashed|aborted' "$dotnet_log" | head -20)"
  fi
  # CI shows only the end of the output, far below dotnet test's own report: name each failed test there too, with the
  # first lines of its message and stack.
  if [ "$failed" -gt 0 ]; then
    dotnet_failures="$(node -e '
      const fs = require("fs");
      const text = s => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&apos;/g, "\x27").replace(/&amp;/g, "&");
      for (const file of process.argv.slice(1)) {
        const trx = fs.readFileSync(file, "utf8");
        for (const [result] of trx.matchAll(/<UnitTestResult [^>]*outcome="(?!Passed|NotExecuted)[^"]*"[\s\S]*?<\/UnitTestResult>/g)) {
          const name = /testName="([^"]*)"/.exec(result)[1];
          const field = tag => text((new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(result) ?? ["", ""])[1]).trim();
          console.log(`  ${text(name)}`);
          for (const line of [...field("Message").split("\n").slice(0, 12), ...field("StackTrace").split("\n").slice(0, 8)]) console.log(`    ${line}`);
        }
      }' "${trx_files[@]}" 2>&1 | head -120)"
  fi
fi
echo "test: .NET: $passed passed, $failed failed, $skipped skipped"

# --- session pod (Node's test runner) --------------------------------------------------------------
if [ -f session-pod/package.json ]; then
  echo "test: npm test --prefix session-pod"
  pod_log="$(mktemp)"
  npm test --prefix session-pod 2>&1 | tee "$pod_log"
  pod_status=${PIPESTATUS[0]}
  # Node's TAP reporter closes with "# pass N" / "# fail N", its spec reporter with "ℹ pass N".
  count() { sed -n "s/^\(#\|ℹ\) $1 \([0-9][0-9]*\)\$/\2/p" "$pod_log" | tail -1; }
  pod_pass="$(count pass)" pod_fail="$(count fail)" pod_cancelled="$(count cancelled)" pod_skipped="$(count skipped)"
  rm -f "$pod_log"
  if [ -z "$pod_pass" ] || [ -z "$pod_fail" ]; then
    broken+=("session pod tests (exit $pod_status, no '# pass N' / '# fail N' summary)")
  else
    passed=$((passed + pod_pass))
    failed=$((failed + pod_fail + ${pod_cancelled:-0}))
    skipped=$((skipped + ${pod_skipped:-0}))
    if [ "$pod_status" -ne 0 ] && [ "$((pod_fail + ${pod_cancelled:-0}))" -eq 0 ]; then
      broken+=("session pod tests (exit $pod_status with no failed test)")
    fi
    echo "test: session pod: $pod_pass passed, $((pod_fail + ${pod_cancelled:-0})) failed"
  fi
fi

# --- the studio (Vitest) ---------------------------------------------------------------------------
echo "test: vitest (web)"
studio_json="$(mktemp)"
(cd web && npx vitest run --reporter=default --reporter=json --outputFile.json="$studio_json")
studio_status=$?
if ! counts="$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests+r.numTodoTests)' "$studio_json" 2>/dev/null)"; then
  broken+=("studio tests (exit $studio_status, no JSON report)")
else
  read -r studio_pass studio_fail studio_skip <<<"$counts"
  passed=$((passed + studio_pass))
  failed=$((failed + studio_fail))
  skipped=$((skipped + studio_skip))
  if [ "$studio_status" -ne 0 ] && [ "$studio_fail" -eq 0 ]; then
    broken+=("studio tests (exit $studio_status with no failed test)")
  fi
  echo "test: studio: $studio_pass passed, $studio_fail failed"
fi
rm -f "$studio_json"

# --- leftovers -------------------------------------------------------------------------------------
# Read in a subshell whose commands do not carry the marker (unset before they start), so they do not find themselves.
survivors() (
  unset STORYDREAM_TEST_RUN
  set +o pipefail # grep -q stops reading at the match
  for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}" pid="${pid%/environ}"
    { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "STORYDREAM_TEST_RUN=$marker" && echo "$pid"
  done
)
marker="$STORYDREAM_TEST_RUN"
left=()
# A server stopped in a test's last moments may still be exiting: a short grace before it counts.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  mapfile -t left < <(survivors)
  [ ${#left[@]} -eq 0 ] && break
  sleep 0.5
done
if [ ${#left[@]} -gt 0 ]; then
  echo "test: ${#left[@]} process(es) started by this run survived it (now killed):" >&2
  for pid in "${left[@]}"; do
    echo "  $pid $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-200)" >&2
  done
  kill -KILL "${left[@]}" 2>/dev/null
  broken+=("${#left[@]} leftover process(es) (listed above)")
fi

rm -f "$dotnet_log"
[ -z "${dotnet_failures:-}" ] || printf 'test: failed .NET tests:\n%s\n' "$dotnet_failures" >&2
[ -z "$dotnet_why" ] || printf 'test: why dotnet test failed:\n%s\n' "$dotnet_why" >&2
status=0
for b in "${broken[@]}"; do
  echo "test: runner failed: $b" >&2
  status=1
done
[ "$failed" -eq 0 ] || status=1
[ $((passed + failed)) -gt 0 ] || { echo "test: no test ran." >&2; status=1; }
# CI reads the last line as exactly "N passed, N failed"; skipped tests are named on the line before.
[ "$skipped" -eq 0 ] || echo "test: $skipped skipped (not counted as passed)"
echo "$passed passed, $failed failed"
exit $status
