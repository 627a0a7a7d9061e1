#!/usr/bin/env bash
# Runs SyncBench on this tree and on an earlier commit (by default 6c4cf2e, the last with the hand-written Cloud Storage
# client, before Google.Cloud.Storage.V1; pass main's commit from before the merge to compare with everything else
# equal), one after the other on the same machine, and prints both results.
# Ends with issue 16's target: this tree's one-file sync median at most 1.1x the base's in the same run.
# Usage: bash eng/bench/sync-compare.sh [--quick] [BASE_COMMIT]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
quick=""
if [ "${1:-}" = "--quick" ]; then quick="--quick"; shift; fi
base="${1:-6c4cf2e}"
old="$(mktemp -d /tmp/syncbench-base-XXXXXX)"
cleanup() { git -C "$root" worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"; }
trap cleanup EXIT
git -C "$root" worktree add --detach "$old" "$base" >/dev/null
# The base tree needs the same installed node packages (the emulator and the pod) as this one.
for dir in eng/storage-emulator session-pod; do ln -s "$root/$dir/node_modules" "$old/$dir/node_modules"; done
# The pod is built per tree when the base's differs (its protocol changes with the services that talk to it).
if git -C "$root" diff --quiet "$base" HEAD -- session-pod; then
  cp -r "$root/session-pod/dist" "$old/session-pod/dist"
else
  (cd "$old/session-pod" && npm run build --silent)
fi
dotnet build -c Release "$old/eng/bench/SyncBench" -v q -nologo >/dev/null
dotnet build -c Release "$root/eng/bench/SyncBench" -v q -nologo >/dev/null
echo "=== base $base (hand-written Cloud Storage client)"
(cd "$old" && dotnet run -c Release --no-build --project eng/bench/SyncBench -- $quick) | tee /tmp/syncbench-base.txt
echo "=== this tree ($(git -C "$root" rev-parse --short HEAD), Google.Cloud.Storage.V1)"
(cd "$root" && dotnet run -c Release --no-build --project eng/bench/SyncBench -- $quick) | tee /tmp/syncbench-head.txt
echo "=== side by side"
paste -d'\n' <(grep -E "^(one-file sync, |one-file sync rounds, in|full copy|hydrate|speed-up|blob bytes)" /tmp/syncbench-base.txt | sed 's/^/base: /') \
              <(grep -E "^(one-file sync, |one-file sync rounds, in|full copy|hydrate|speed-up|blob bytes)" /tmp/syncbench-head.txt | sed 's/^/head: /') || true
# The row is: label, median, min, max, uploaded bytes.
median() { awk '/^one-file sync, enqueue to commit/ { print $(NF-3) }' "$1"; }
awk -v base="$(median /tmp/syncbench-base.txt)" -v head="$(median /tmp/syncbench-head.txt)" 'BEGIN {
  ratio = head / base
  printf "one-file sync median: this tree %d ms, base %d ms: %.2fx (issue 16 target <= 1.10x: %s)\n", head, base, ratio, (ratio <= 1.1 ? "met" : "NOT met")
}'
