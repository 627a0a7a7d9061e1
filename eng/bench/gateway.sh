#!/usr/bin/env bash
# Session gateway benchmark, all on loopback, in one run:
#   1. a 1 KB preview asset at 64 connections with wrk: straight from a pod stand-in, through nginx configured as a
#      plain reverse proxy (the issue's baseline: a bare proxy_pass, so nginx's defaults, HTTP/1.0 and a new upstream
#      connection per request), through nginx tuned with upstream keep-alive (the stricter reference), and through the
#      gateway (host mode, with its preview cookie); prints RPS and latency percentiles and the gateway's ratios to
#      both; then the same asset over one connection, one request at a time (unsaturated), for the median latency the
#      gateway adds over direct.
#   2. COUNT concurrent idle WebSockets through the gateway for SOAK seconds (no data, no pings): dropped count and
#      the gateway's RSS.
# Targets (against the plain nginx): gateway RPS >= 1.0x nginx, p99 <= 1.2x nginx, added median <= 0.2 ms; 0 WebSockets dropped, RSS <= 300 MB.
#
# Usage: bash eng/bench/gateway.sh [--duration SECONDS] [--soak SECONDS] [--sockets COUNT]
#   --duration  seconds of each measured wrk run (default 15; each is preceded by a 10 s warm-up)
#   --soak      seconds the WebSockets stay idle (default 300; 0 skips the soak)
#   --sockets   how many WebSockets (default 1000)
# The full default run takes about 8.5 minutes: up to 1 min to build, 2 min of wrk, 5 min of soak plus set-up.
# Installs wrk and nginx with apt-get when they are missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
duration=15
warmup=10
soak=300
sockets=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --soak) soak="$2"; shift 2 ;;
    --sockets) sockets="$2"; shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS] [--soak SECONDS] [--sockets COUNT]" >&2; exit 2 ;;
  esac
done
say() { echo "bench: $*" >&2; }

# --- tools -----------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} with apt-get"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

say "building the gateway and the benchmark helper (Release)"
dotnet build "$root/StoryDream.SessionGateway" -c Release -v q -nologo >&2
dotnet build "$root/eng/bench/GatewayBench" -c Release -v q -nologo >&2
gateway_dll="$root/StoryDream.SessionGateway/bin/Release/net10.0/StoryDream.SessionGateway.dll"
bench=(dotnet "$root/eng/bench/GatewayBench/bin/Release/net10.0/GatewayBench.dll")

# --- servers ---------------------------------------------------------------------------------------
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server in the background and waits (at most 60 s) for its READY line or for its port to answer.
wait_for() {
  local what="$1" check="$2"
  for _ in $(seq 1 600); do
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  say "$what did not start; its log:"; cat "$work/$what.log" >&2; exit 1
}

mapfile -t ports < <("${bench[@]}" ports 5)
redis_port="${ports[0]}"; origin_port="${ports[1]}"; nginx_port="${ports[2]}"; gateway_port="${ports[3]}"; nginx_ka_port="${ports[4]}"

bash "$root/eng/servers/redis.sh" "$redis_port" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for redis "grep -q READY '$work/redis.log'"

"${bench[@]}" origin "$origin_port" >"$work/origin.log" 2>&1 &
origin_pid=$!
pids+=($origin_pid)
wait_for origin "grep -q READY '$work/origin.log'"

key="$(head -c 32 /dev/urandom | base64)"
# From its own folder, as in its image: the content root (appsettings.json, with its log levels) is the working directory.
(cd "$(dirname "$gateway_dll")" && ASPNETCORE_ENVIRONMENT=Production \
  ConnectionStrings__redis="127.0.0.1:$redis_port" \
  Sessions__PreviewTokenKey="$key" \
  Gateway__PreviewDomain=preview.localhost \
  exec dotnet "$gateway_dll" --urls "http://127.0.0.1:$gateway_port") >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=($gateway_pid)
wait_for gateway "curl -sf http://127.0.0.1:$gateway_port/alive"

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  # The plain reverse proxy: nothing but proxy_pass.
  server {
    listen 127.0.0.1:$nginx_port;
    location / { proxy_pass http://127.0.0.1:$origin_port; }
  }
  # Tuned: HTTP/1.1 to the pod over a pool of kept-alive connections, as the gateway does.
  upstream pod { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_ka_port;
    location / {
      proxy_pass http://pod;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' >"$work/nginx.log" 2>&1 &
nginx_pid=$!
pids+=($nginx_pid)
wait_for nginx "curl -sf http://127.0.0.1:$nginx_port/app.js && curl -sf http://127.0.0.1:$nginx_ka_port/app.js"

session="$(cat /proc/sys/kernel/random/uuid)"
user="$(cat /proc/sys/kernel/random/uuid)"
token="$("${bench[@]}" seed "127.0.0.1:$redis_port" "$key" "$session" "$user" "http://127.0.0.1:$origin_port/")"
host="$session.preview.localhost:$gateway_port"
cookie="$(curl -s -o /dev/null -D - -H "Host: $host" "http://127.0.0.1:$gateway_port/?sd_token=$token" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')"
[ -n "$cookie" ] || { say "the gateway set no preview cookie"; cat "$work/gateway.log" >&2; exit 1; }
status="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" -H "Cookie: $cookie" "http://127.0.0.1:$gateway_port/assets/app.js")"
[ "$status" = 200 ] || { say "the gateway answered $status for the asset"; cat "$work/gateway.log" >&2; exit 1; }

# --- HTTP ------------------------------------------------------------------------------------------
# wrk prints latencies as 812.00us / 1.23ms / 1.02s; this turns them into milliseconds.
to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.3f", v }'; }

# CPU seconds (user + system, in clock ticks) used so far by the given processes: per request it says what a proxy
# costs even when other work shares the cores and skews requests per second.
ticks() { local t=0 pid; for pid in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done; echo "$t"; }
hz="$(getconf CLK_TCK)"

run_wrk() {
  local name="$1" procs="$2"; shift 2
  timeout $((warmup + 30)) wrk -t2 -c64 -d"${warmup}s" "$@" >/dev/null
  local before after
  before="$(ticks $procs)"
  timeout $((duration + 30)) wrk -t2 -c64 -d"${duration}s" --latency "$@" >"$work/$name.wrk"
  after="$(ticks $procs)"
  local rps p50 p75 p90 p99 errors requests cpu
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$work/$name.wrk")"
  requests="$(awk '/requests in/ { print $1 }' "$work/$name.wrk")"
  p50="$(awk '$1 == "50%" { print $2 }' "$work/$name.wrk" | to_ms)"
  p75="$(awk '$1 == "75%" { print $2 }' "$work/$name.wrk" | to_ms)"
  p90="$(awk '$1 == "90%" { print $2 }' "$work/$name.wrk" | to_ms)"
  p99="$(awk '$1 == "99%" { print $2 }' "$work/$name.wrk" | to_ms)"
  cpu="$(awk -v t=$((after - before)) -v n="$requests" -v hz="$hz" 'BEGIN { printf "%.1f", t * 1000000 / hz / n }')"
  errors="$(awk '/Non-2xx|Socket errors/ { print }' "$work/$name.wrk" | tr '\n' ' ')"
  printf '%-8s %12.0f %9s %9s %9s %9s %14s  %s\n' "$name" "$rps" "$p50" "$p75" "$p90" "$p99" "$cpu" "$errors"
  eval "${name}_rps=$rps ${name}_p50=$p50 ${name}_p99=$p99 ${name}_cpu=$cpu"
}

say "wrk: 1 KB asset, 64 connections, 2 threads, ${duration}s per run after a ${warmup} s warm-up; load average now $(cut -d' ' -f1 /proc/loadavg)"
printf '%-8s %12s %9s %9s %9s %9s %14s\n' path requests/s p50_ms p75_ms p90_ms p99_ms cpu_us/request
run_wrk direct "$origin_pid" "http://127.0.0.1:$origin_port/assets/app.js"
nginx_procs="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
run_wrk nginx "$nginx_procs" "http://127.0.0.1:$nginx_port/assets/app.js"
run_wrk nginx_ka "$nginx_procs" "http://127.0.0.1:$nginx_ka_port/assets/app.js"
run_wrk gateway "$gateway_pid" -H "Host: $host" -H "Cookie: $cookie" "http://127.0.0.1:$gateway_port/assets/app.js"
echo "(nginx: plain proxy_pass; nginx_ka: upstream keep-alive. cpu_us/request: the pod stand-in's CPU for direct, the proxy's own CPU otherwise)"

awk -v g="$gateway_rps" -v n="$nginx_rps" -v k="$nginx_ka_rps" -v g99="$gateway_p99" -v n99="$nginx_p99" -v k99="$nginx_ka_p99" \
  -v g50="$gateway_p50" -v d50="$direct_p50" -v n50="$nginx_p50" -v gc="$gateway_cpu" -v nc="$nginx_cpu" -v kc="$nginx_ka_cpu" 'BEGIN {
  printf "                       plain nginx          keep-alive nginx\n"
  printf "gateway/nginx RPS      %.2fx (>= 1.00x)     %.2fx\n", g / n, g / k
  printf "gateway/nginx p99      %.2fx (<= 1.20x)     %.2fx\n", g99 / n99, g99 / k99
  printf "gateway/nginx CPU      %.2fx                %.2fx   per request\n", gc / nc, gc / kc
  printf "added median, gateway  %.3f ms at 64 connections (saturated: mostly queueing; plain nginx adds %.3f ms)\n", g50 - d50, n50 - d50
}'

# At 64 connections the cores are saturated and a median is mostly time spent queueing. The latency a proxy adds to
# one request is measured unsaturated: one connection, one request at a time.
run_single() {
  local name="$1"; shift
  timeout 30 wrk -t1 -c1 -d2s "$@" >/dev/null
  timeout $((duration + 30)) wrk -t1 -c1 -d"${duration}s" --latency "$@" >"$work/$name.single"
  local p50 p99
  p50="$(awk '$1 == "50%" { print $2 }' "$work/$name.single" | to_ms)"
  p99="$(awk '$1 == "99%" { print $2 }' "$work/$name.single" | to_ms)"
  printf '%-8s %9s %9s\n' "$name" "$p50" "$p99"
  eval "${name}_single_p50=$p50"
}
say "wrk: the same asset over one connection, one request at a time, ${duration}s per run"
printf '%-8s %9s %9s\n' path p50_ms p99_ms
run_single direct "http://127.0.0.1:$origin_port/assets/app.js"
run_single nginx "http://127.0.0.1:$nginx_port/assets/app.js"
run_single nginx_ka "http://127.0.0.1:$nginx_ka_port/assets/app.js"
run_single gateway -H "Host: $host" -H "Cookie: $cookie" "http://127.0.0.1:$gateway_port/assets/app.js"
awk -v g="$gateway_single_p50" -v n="$nginx_single_p50" -v k="$nginx_ka_single_p50" -v d="$direct_single_p50" 'BEGIN {
  printf "added median, gateway  %.3f ms at one connection (target <= 0.200 ms; plain nginx adds %.3f ms, keep-alive nginx %.3f ms)\n", g - d, n - d, k - d
}'
echo "gateway RSS after HTTP: $(awk '/^VmRSS:/ { printf "%.1f MB", $2 / 1024 }' "/proc/$gateway_pid/status")"

# --- idle WebSockets --------------------------------------------------------------------------------
if [ "$soak" -gt 0 ]; then
  say "soak: $sockets idle WebSockets through the gateway for $soak s"
  timeout $((soak + 180)) "${bench[@]}" soak "ws://$host/hmr" "$cookie" "$sockets" "$soak" "$gateway_pid"
fi
if grep -q -E '(warn|fail|crit):' "$work/gateway.log"; then
  say "the gateway logged warnings or errors:"; grep -E -A2 '(warn|fail|crit):' "$work/gateway.log" | head -40 >&2
fi
