#!/usr/bin/env bash
# Makes this machine ready to build, test and run StoryDream, saying what it does at each step.
# Idempotent: it installs only what is missing or stale, so running it again costs a few seconds.
#   - Debian packages: redis-server, curl and chromium, with `apt-get update` first, only when missing
#   - npm packages of the Storage emulator (eng/storage-emulator), of session-pod/ and of its render mode (session-pod/render),
#     with `npm ci` from their committed lockfiles, only when node_modules does not match the lockfile
#   - the Aspire CLI as a local dotnet tool (dotnet tool restore)
#   - checks (no install): the .NET SDK that global.json asks for, Node.js 20+, and Google's Firestore
#     emulator with Java from the machine image
# Usage: bash eng/setup.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
say() { echo "setup: $*"; }
fail() { echo "setup: FAILED: $*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v curl >/dev/null || missing+=(curl)
# The dashboard's browser test drives Debian's chromium through Playwright (its own browser download cannot work here).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  say "Debian packages: redis-server, redis-cli, curl and chromium are installed ($(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'))."
else
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "need to install ${missing[*]} but am not root and have no sudo: install them with apt-get."
    sudo=(sudo)
  fi
  say "Debian packages: installing ${missing[*]} (apt-get update, then apt-get install)..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  say "Debian packages: installed ${missing[*]}."
fi

# --- Node.js ---------------------------------------------------------------------------------------
command -v node >/dev/null && command -v npm >/dev/null \
  || fail "Node.js 20 or later with npm is not on PATH (Debian's nodejs package is too old: use the image's Node.js or NodeSource)."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "Node.js $(node --version) is too old: 20 or later is needed."
say "Node.js $(node --version), npm $(npm --version 2>/dev/null)."

# npm ci from the committed lockfile when node_modules is missing or was installed from another lockfile.
npm_ci() {
  local dir="$1" name="$2" command="${3:-ci}"
  [ -f "$dir/package-lock.json" ] || fail "$name has no package-lock.json: commit one (npm install --package-lock-only) so set-up installs exact versions."
  local stamp="$dir/node_modules/.storydream-lock-sha256" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "$name: node_modules matches package-lock.json."
    return
  fi
  say "$name: running npm $command (node_modules is missing or stale)..."
  (cd "$dir" && npm "$command" --no-audit --no-fund --loglevel=error) || fail "$name: npm $command failed (see above)."
  echo "$want" >"$stamp"
  say "$name: installed."
}
npm_ci "$root/eng/storage-emulator" "Storage emulator (eng/storage-emulator)"
[ -f "$root/eng/storage-emulator/node_modules/firebase-tools/package.json" ] \
  || fail "eng/storage-emulator: firebase-tools is missing after npm ci."
if [ -f "$root/session-pod/package.json" ]; then
  npm_ci "$root/session-pod" "session pod (session-pod)"
  # The render mode's packages (Remotion's bundler and renderer) have their own install, out of the preview's path.
  # `npm install`, which still installs the lockfile's exact versions: npm ci refuses a lockfile without every
  # platform's optional compositor package, and the registry here serves only some of them.
  npm_ci "$root/session-pod/render" "render mode (session-pod/render)" install
  # The API's local session runtime runs the compiled pod: build it when a source is newer than the build.
  if [ ! -f "$root/session-pod/dist/src/main.js" ] \
    || [ -n "$(find "$root/session-pod/src" "$root/session-pod/tsconfig.json" -newer "$root/session-pod/dist/src/main.js" -print -quit)" ]; then
    say "session pod: building (tsc)..."
    (cd "$root/session-pod" && npm run build --silent) || fail "session pod: npm run build failed (see above)."
  fi
else
  say "session pod: no session-pod/package.json yet, nothing to install."
fi

# --- the studio (web/) -----------------------------------------------------------------------------
# The gateway serves web/dist at /: build it when a source is newer than the build.
npm_ci "$root/web" "studio (web)"
if [ ! -f "$root/web/dist/index.html" ] \
  || [ -n "$(find "$root/web/src" "$root/web/index.html" "$root/web/openapi.json" "$root/web/package-lock.json" "$root/web/vite.config.ts" "$root/web/tsconfig.json" \
        -newer "$root/web/dist/index.html" -not -name schema.d.ts -print -quit)" ]; then
  say "studio: building (API types from web/openapi.json, tsc, vite build)..."
  (cd "$root/web" && npm run build --silent >/dev/null) || fail "studio: npm run build failed (run it in web/ to see why)."
fi
say "studio: web/dist is built."

# --- .NET SDK --------------------------------------------------------------------------------------
command -v dotnet >/dev/null || fail "the .NET SDK is not on PATH: install the SDK that global.json names ($(grep -o '"version": *"[^"]*"' "$root/global.json"))."
# `dotnet --version` in the repository resolves global.json and fails if no installed SDK satisfies it.
sdk="$(cd "$root" && dotnet --version 2>&1)" \
  || fail "no installed .NET SDK satisfies global.json ($(grep -o '"version": *"[^"]*"' "$root/global.json")); installed: $(dotnet --list-sdks | tr '\n' ' ')"
say ".NET SDK $sdk (global.json)."
# The Aspire CLI (`dotnet aspire run|describe|logs|otel|publish`), a local tool pinned in .config/dotnet-tools.json.
(cd "$root" && dotnet tool restore >/dev/null) || fail "dotnet tool restore (the Aspire CLI, .config/dotnet-tools.json) failed."
say "Aspire CLI: $(cd "$root" && dotnet aspire --version 2>/dev/null | head -1) (dotnet aspire)."

# --- Firestore emulator (from the machine image, never installed here) --------------------------------
firestore="$("$root/eng/servers/find-firestore-emulator.sh" 2>&1)" || fail "$firestore"
say "Firestore emulator: $firestore (Java: $(java -version 2>&1 | head -1))."

say "ready."
