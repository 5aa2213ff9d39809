#!/usr/bin/env bash
# Smoke test of the images built by deploy/local/build-images.sh, under podman on this host:
#   a private redis-server (free port, no persistence) and a fresh PostgreSQL database
#   (smoke_<pid> on 127.0.0.1:5432, dropped after), two chat-server containers (WORKERS=2,
#   REDIS_URL + DATABASE_URL), the client app, and nginx with deploy/nginx.conf (its upstreams
#   pointed at those ports) in a container from localhost/debian:bookworm. All --network host,
#   on 127.0.0.1 only, each on a free port. Checks:
#     1. /health of both servers and the client app, and each image's HEALTHCHECK
#     2. WebSockets through nginx get a welcome (chorus.v1), and a private message arrives; a page
#        from ALLOWED_ORIGINS is admitted, one from another origin refused (403)
#     3. /env through nginx names the server (SERVER); TLS with deploy/tls.d/tls.conf.example
#        and a self-signed certificate: wss:// gets a welcome, plain HTTP for the name redirects
#     4. SIGTERM to one server container: exit code 0, within STOP_LIMIT seconds, and its
#        connected client is closed with 1001 (going away: reconnect elsewhere); then headless
#        Chromium (smoke-browser.mjs) at /alice and /bob through nginx, the server from /env only,
#        lobby and private chat, SIGTERM to the other node mid-chat, both pages reconnect and resume
#     5. the server on SQLite (no DATABASE_URL) with a named volume at /data: it writes there as
#        uid 1000, and docs/deploy.md's online backup (better-sqlite3 .backup()) holds the message
# Cleans up only what it started (containers named chorus-smoke-<pid>-*, its redis-server, its
# database, its volume). Usage: deploy/local/smoke.sh   (env: PG_ADMIN_URL, STOP_LIMIT=10, KEEP=1 to keep all)
set -uo pipefail
cd "$(dirname "$0")/../.."

PG_ADMIN_URL="${PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
STOP_LIMIT="${STOP_LIMIT:-10}"
SERVER_IMAGE="${SERVER_IMAGE:-localhost/chorus-server:local}"
CLIENT_IMAGE="${CLIENT_IMAGE:-localhost/chorus-client:local}"
NGINX_IMAGE=localhost/chorus-nginx:smoke
PODMAN=(podman --runtime runc)
RUN_FLAGS=(--network host --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
TAG="chorus-smoke-$$"
DB="smoke_$$"
WORK="$(mktemp -d /tmp/chorus-smoke.XXXXXX)"
started=$(date +%s)
failures=0
passed=0
redis_pid=""
hold_pid=""
db_created=0

log() { printf '== %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failures=$((failures + 1)); printf 'FAIL %s\n' "$*"; }

cleanup() {
  [ "${KEEP:-0}" = 1 ] && { log "KEEP=1: leaving $TAG-* containers, redis pid $redis_pid, database $DB, $WORK"; return; }
  [ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null
  for name in server1 server2 client nginx sqlite; do
    timeout 30 "${PODMAN[@]}" rm -f -v -t 2 "$TAG-$name" >/dev/null 2>&1
  done
  timeout 30 "${PODMAN[@]}" volume rm -f "$TAG-data" >/dev/null 2>&1
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  if [ "$db_created" = 1 ]; then
    timeout 20 psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || echo "could not drop database $DB"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
# GET a URL with node's fetch (no curl), bounded; prints the body.
get() { timeout 10 node -e "fetch(process.argv[1]).then(async(r)=>{const b=await r.text();console.log(b);process.exit(r.ok?0:1)},(e)=>{console.error(e.message);process.exit(1)})" "$1"; }
wait_health() { # URL SECONDS
  local until=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$until" ]; do get "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

for image in "$SERVER_IMAGE" "$CLIENT_IMAGE"; do
  "${PODMAN[@]}" image exists "$image" || { echo "smoke: no image $image (run deploy/local/build-images.sh)"; exit 1; }
done
command -v redis-server >/dev/null || { echo "smoke: redis-server is missing (apt-get install redis-server)"; exit 1; }
timeout 10 psql "$PG_ADMIN_URL" -Atqc 'select 1' >/dev/null || { echo "smoke: PostgreSQL is not reachable at $PG_ADMIN_URL"; exit 1; }

# nginx: Debian's package in a container from the local Debian base (built once, then reused).
if ! "${PODMAN[@]}" image exists "$NGINX_IMAGE"; then
  log "building $NGINX_IMAGE (Debian's nginx on localhost/debian:bookworm)"
  printf '%s\n' 'FROM localhost/debian:bookworm' \
    'RUN apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*' \
    'CMD ["nginx", "-g", "daemon off;"]' >"$WORK/nginx.Dockerfile"
  timeout 300 "${PODMAN[@]}" build --format docker "${RUN_FLAGS[@]}" -t "$NGINX_IMAGE" -f "$WORK/nginx.Dockerfile" "$WORK" >"$WORK/nginx-build.log" 2>&1 \
    || { tail -n 20 "$WORK/nginx-build.log"; exit 1; }
fi

REDIS_PORT=$(free_port) S1=$(free_port) S2=$(free_port) C=$(free_port) N=$(free_port) NT=$(free_port)
log "ports: redis $REDIS_PORT, server1 $S1, server2 $S2, client $C, nginx $N (TLS $NT)"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$WORK/redis.log" &
redis_pid=$!
timeout 20 psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE $DB" && db_created=1 || { echo "smoke: cannot create database $DB"; exit 1; }
DATABASE_URL="$(node -e "const u=new URL(process.argv[1]);u.pathname='/$DB';console.log(u.href)" "$PG_ADMIN_URL")"
SECRET="$(node -e "console.log(require('crypto').randomBytes(36).toString('base64'))")"
SERVER_URL="ws://chorus-smoke.invalid:$N"

server_env=(-e ENVIRONMENT=production -e HOST=127.0.0.1 -e WORKERS=2 -e "AUTH_SECRET=$SECRET"
  -e "REDIS_URL=redis://127.0.0.1:$REDIS_PORT" -e "DATABASE_URL=$DATABASE_URL" -e TRUST_PROXY=1
  -e "ALLOWED_ORIGINS=http://127.0.0.1:$N" -e LOG_LEVEL=info)
t0=$(date +%s.%N)
"${PODMAN[@]}" run -d --name "$TAG-server1" "${RUN_FLAGS[@]}" "${server_env[@]}" -e "PORT=$S1" "$SERVER_IMAGE" >/dev/null 2>>"$WORK/podman.log"
"${PODMAN[@]}" run -d --name "$TAG-server2" "${RUN_FLAGS[@]}" "${server_env[@]}" -e "PORT=$S2" "$SERVER_IMAGE" >/dev/null 2>>"$WORK/podman.log"
"${PODMAN[@]}" run -d --name "$TAG-client" "${RUN_FLAGS[@]}" -e ENVIRONMENT=production -e HOST=127.0.0.1 \
  -e "PORT=$C" -e "SERVER=$SERVER_URL" "$CLIENT_IMAGE" >/dev/null 2>>"$WORK/podman.log"

sed -e "s/server server1:8080 /server 127.0.0.1:$S1 /" -e "s/server server2:8080 /server 127.0.0.1:$S2 /" \
  -e "s/server client:3000;/server 127.0.0.1:$C;/" -e "s/listen 80;/listen 127.0.0.1:$N;/" \
  deploy/nginx.conf >"$WORK/nginx.conf"
grep -q "127.0.0.1:$S1" "$WORK/nginx.conf" && grep -q "127.0.0.1:$S2" "$WORK/nginx.conf" && grep -q "127.0.0.1:$C;" "$WORK/nginx.conf" \
  || { echo "smoke: deploy/nginx.conf no longer has the upstreams this script rewrites"; exit 1; }
# TLS as docs/deploy.md has it: tls.d/tls.conf from the example, a certificate in certs/ (self-signed here).
mkdir -p "$WORK/tls.d" "$WORK/certs"
sed -e "s/listen 80;/listen 127.0.0.1:$N;/" -e "s/listen 443 ssl http2;/listen 127.0.0.1:$NT ssl http2;/" \
  deploy/tls.d/tls.conf.example >"$WORK/tls.d/tls.conf"
timeout 30 openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=chat.example.com \
  -keyout "$WORK/certs/privkey.pem" -out "$WORK/certs/fullchain.pem" >/dev/null 2>&1 || { echo "smoke: openssl could not make a certificate"; exit 1; }
chmod 644 "$WORK/certs/privkey.pem"
"${PODMAN[@]}" run -d --name "$TAG-nginx" "${RUN_FLAGS[@]}" -v "$WORK/nginx.conf:/etc/nginx/nginx.conf:ro,Z" \
  -v "$WORK/tls.d:/etc/nginx/tls.d:ro,Z" -v "$WORK/certs:/etc/nginx/certs:ro,Z" "$NGINX_IMAGE" >/dev/null 2>>"$WORK/podman.log"
for name in server1 server2 client nginx; do
  "${PODMAN[@]}" container exists "$TAG-$name" || { echo "smoke: $TAG-$name did not start:"; cat "$WORK/podman.log"; exit 1; }
done

# ---- 1. health
for pair in "server1 $S1" "server2 $S2" "client $C"; do
  set -- $pair
  if wait_health "http://127.0.0.1:$2/health" 40; then
    pass "$1 /health answers ($(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s after start)"
  else
    fail "$1 /health does not answer"
    "${PODMAN[@]}" logs --tail 20 "$TAG-$1" 2>&1 | sed 's/^/    /'
  fi
done
for name in server1 client; do
  if timeout 20 "${PODMAN[@]}" healthcheck run "$TAG-$name" >/dev/null 2>&1; then pass "$name image HEALTHCHECK (node fetch /health) is healthy"
  else fail "$name image HEALTHCHECK is not healthy"; fi
done
wait_health "http://127.0.0.1:$N/health" 20 || fail "nginx does not answer on $N"
for name in server2 client; do
  pid1="$(timeout 10 "${PODMAN[@]}" exec "$TAG-$name" sh -c 'tr "\0" " " </proc/1/cmdline; echo; id -u')"
  if [ "$(echo "$pid1" | head -n 1)" = "node apps/${name%[0-9]}/dist/main.js " ] && [ "$(echo "$pid1" | tail -n 1)" != 0 ]; then
    pass "$name: PID 1 is node apps/${name%[0-9]}/dist/main.js, as uid $(echo "$pid1" | tail -n 1)"
  else
    fail "$name: PID 1 and uid: $(echo "$pid1" | tr '\n' ' ')"
  fi
done

# ---- 2. WebSockets through nginx
if out="$(timeout 30 node deploy/local/smoke-ws.mjs welcome "ws://127.0.0.1:$N" 6 2>&1)"; then
  pass "WebSockets through nginx: $(echo "$out" | tr '\n' ';' | sed 's/;$//')"
else
  fail "WebSockets through nginx: $out"
fi

if out="$(SMOKE_ORIGIN="http://127.0.0.1:$N" timeout 30 node deploy/local/smoke-ws.mjs welcome "ws://127.0.0.1:$N" 2 2>&1)"; then
  pass "a page from ALLOWED_ORIGINS (http://127.0.0.1:$N) is admitted through nginx"
else
  fail "a page from ALLOWED_ORIGINS: $out"
fi
if out="$(timeout 30 node deploy/local/smoke-ws.mjs refused "ws://127.0.0.1:$N" "https://elsewhere.invalid" 2>&1)"; then
  pass "a page from another origin is refused: $out"
else
  fail "a page from another origin: $out"
fi

# ---- 3. /env through nginx
if env_body="$(get "http://127.0.0.1:$N/env")" && [ "$(node -e "console.log(JSON.parse(process.argv[1]).SERVER)" "$env_body")" = "$SERVER_URL" ]; then
  pass "/env through nginx names the server: $env_body"
else
  fail "/env through nginx: ${env_body:-no answer}"
fi

if out="$(SMOKE_INSECURE_TLS=1 timeout 30 node deploy/local/smoke-ws.mjs welcome "wss://127.0.0.1:$NT" 2 2>&1)"; then
  pass "TLS: wss:// through nginx (tls.conf.example, self-signed): $(echo "$out" | head -n 1)"
else
  fail "TLS: wss:// through nginx: $out"
fi
redirect="$(timeout 10 node -e "require('http').get({host:'127.0.0.1',port:+process.argv[1],path:'/alice',headers:{host:'chat.example.com'}},(r)=>{console.log(r.statusCode,r.headers.location);process.exit(0)}).on('error',(e)=>{console.log(e.message);process.exit(1)})" "$N")"
if [ "$redirect" = "301 https://chat.example.com/alice" ]; then pass "TLS: plain HTTP for chat.example.com redirects: $redirect"
else fail "TLS: plain HTTP for chat.example.com: $redirect"; fi

# ---- 4. SIGTERM to server1: exit 0, quickly, its client closed with 1001
timeout $((STOP_LIMIT + 30)) node deploy/local/smoke-ws.mjs hold "ws://127.0.0.1:$S1" "smoke-hold-$$" >"$WORK/hold.log" 2>&1 &
hold_pid=$!
for _ in $(seq 1 40); do grep -q '^open' "$WORK/hold.log" && break; sleep 0.25; done
grep -q '^open' "$WORK/hold.log" || fail "a client on server1 did not connect: $(cat "$WORK/hold.log")"
t1=$(date +%s.%N)
"${PODMAN[@]}" kill --signal TERM "$TAG-server1" >/dev/null
code="$(timeout $((STOP_LIMIT + 20)) "${PODMAN[@]}" wait "$TAG-server1" 2>/dev/null)"
stop_s="$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t1}")"
if [ "$code" = 0 ] && awk "BEGIN{exit !($stop_s <= $STOP_LIMIT)}"; then
  pass "SIGTERM to server1: exit code 0 in $stop_s s ($("${PODMAN[@]}" logs "$TAG-server1" 2>&1 | grep -c '"stopping"') workers logged stopping)"
else
  fail "SIGTERM to server1: exit code '${code:-none}' after $stop_s s"
  "${PODMAN[@]}" logs --tail 20 "$TAG-server1" 2>&1 | sed 's/^/    /'
fi
wait "$hold_pid" 2>/dev/null
hold_status=$?
hold_pid=""
if [ "$hold_status" = 0 ]; then pass "server1's client was closed with $(grep '^close' "$WORK/hold.log")"; else fail "server1's client: $(tr '\n' ' ' <"$WORK/hold.log")"; fi
if out="$(timeout 30 node deploy/local/smoke-ws.mjs welcome "ws://127.0.0.1:$N" 2 2>&1)"; then
  pass "after server1 stopped, nginx still serves WebSockets: $(echo "$out" | head -n 1)"
else
  fail "after server1 stopped, through nginx: $out"
fi

# ---- 4b. a real browser through nginx (deploy/local/smoke-browser.mjs): /alice and /bob on server2 (server1
#      is down), server1 started again, lobby and private chat, SIGTERM to server2 mid-chat, both pages
#      reconnect through nginx to server1 and show every message once
if [ -x /usr/bin/chromium ]; then
  timeout 200 node deploy/local/smoke-browser.mjs "http://127.0.0.1:$N" "$SERVER_URL" "$TAG-server2" "$TAG-server1" \
    "http://127.0.0.1:$S1/health" >"$WORK/browser.log" 2>&1
  browser_status=$?
  while IFS= read -r line; do
    case "$line" in
      "ok   "*) pass "${line#ok   }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
    esac
  done <"$WORK/browser.log"
  if [ "$browser_status" != 0 ] && ! grep -q '^FAIL ' "$WORK/browser.log"; then
    fail "browser: exit code $browser_status: $(tail -n 5 "$WORK/browser.log" | tr '\n' ' ')"
  fi
else
  fail "browser: /usr/bin/chromium is missing (apt-get install chromium)"
fi

t2=$(date +%s.%N)
"${PODMAN[@]}" kill --signal TERM "$TAG-client" >/dev/null
code="$(timeout $((STOP_LIMIT + 20)) "${PODMAN[@]}" wait "$TAG-client" 2>/dev/null)"
stop_s="$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t2}")"
if [ "$code" = 0 ] && awk "BEGIN{exit !($stop_s <= $STOP_LIMIT)}"; then pass "SIGTERM to the client app: exit code 0 in $stop_s s"
else fail "SIGTERM to the client app: exit code '${code:-none}' after $stop_s s"; fi

# ---- 5. SQLite on a volume, and an online backup
SQ=$(free_port)
"${PODMAN[@]}" run -d --name "$TAG-sqlite" "${RUN_FLAGS[@]}" -v "$TAG-data:/data" -e ENVIRONMENT=production -e HOST=127.0.0.1 \
  -e "PORT=$SQ" -e WORKERS=2 -e "AUTH_SECRET=$SECRET" "$SERVER_IMAGE" >/dev/null 2>>"$WORK/podman.log"
if wait_health "http://127.0.0.1:$SQ/health" 40 && out="$(timeout 30 node deploy/local/smoke-ws.mjs welcome "ws://127.0.0.1:$SQ" 2 2>&1)"; then
  owner="$(timeout 10 "${PODMAN[@]}" exec "$TAG-sqlite" stat -c '%u' /data/chorus.db 2>/dev/null)"
  timeout 30 "${PODMAN[@]}" exec "$TAG-sqlite" node -e "
    const Database = require('better-sqlite3');
    const db = new Database('/data/chorus.db', { readonly: true, fileMustExist: true });
    db.backup('/data/chorus-backup.db').then(() => { db.close(); console.log('backup done'); });
  " >"$WORK/backup.log" 2>&1
  timeout 30 "${PODMAN[@]}" cp "$TAG-sqlite:/data/chorus-backup.db" "$WORK/chorus-backup.db" >/dev/null 2>&1
  count="$(timeout 10 node -e "
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { readonly: true, fileMustExist: true });
    console.log(db.prepare('select count(*) as n from messages').get().n);
  " "$WORK/chorus-backup.db" 2>&1)"
  if [ "$owner" = 1000 ] && [ "$count" = 1 ]; then
    pass "SQLite: /data/chorus.db on the volume belongs to uid $owner; the online backup holds the message ($count)"
  else
    fail "SQLite: owner '$owner', backup: $(cat "$WORK/backup.log"), messages in it: $count"
  fi
else
  fail "SQLite: the server on a volume did not serve: ${out:-no /health}"
  "${PODMAN[@]}" logs --tail 20 "$TAG-sqlite" 2>&1 | sed 's/^/    /'
fi

log "smoke took $(($(date +%s) - started)) s"
echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
