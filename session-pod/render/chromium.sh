#!/bin/sh
# Debian's chromium for Remotion (browserExecutable). The resolver rule stops the start-up lookups of Google's hosts,
# which a render pod cannot reach anyway; Remotion adds --no-sandbox and its other flags itself.
exec "${CHROMIUM:-/usr/lib/chromium/chromium}" --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE localhost" "$@"
