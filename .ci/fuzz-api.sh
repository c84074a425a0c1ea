#!/usr/bin/env bash
# Fuzzes a live dronewatch server against its own OpenAPI description (GET /openapi.json) with schemathesis: every
# answer must be no 5xx, have a status the description lists for the operation, and match that status' schema.
# Called by .ci/run after `npm test`; runnable locally from the repository root: `.ci/fuzz-api.sh` (docs/api.md).
#
# What it does: a Python venv in deploy/openapi-fuzz/.venv with the pinned schemathesis of
# deploy/openapi-fuzz/requirements.txt (pip's downloads cached in ~/.cache/pip); `dronewatch up` in a temporary data
# directory on a free loopback port with a small simulated fleet (so alerts, the lake and dead letters hold data);
# an account holding every role (supervisor + admin: every /v1/ route is reachable) and its API token, and a gateway
# drone credential, all through the CLI (docs/security.md); two schemathesis runs; then the server is stopped.
#
# Bounded in time: at most FUZZ_EXAMPLES test cases per operation (default 25), one request at a time, each run
# under `timeout`. Environment: FUZZ_EXAMPLES, FUZZ_SEED (default 1; a number replays a run, `random` draws one),
# FUZZ_KEEP=1 (keep the data directory and the reports: schemathesis' cassette of every request under <dir>/report).
set -euo pipefail
cd "$(dirname "$0")/.."

# Without the built dashboard, GET / answers 503 (a page saying how to build it): a 5xx the fuzzer rightly reports.
if [ ! -f web/dist/index.html ]; then
  echo "fuzz-api: the dashboard is not built (web/dist/index.html): run \`npm ci\` (or \`npm run build:web\`) first" >&2
  exit 1
fi

examples=${FUZZ_EXAMPLES:-25}
# A fixed seed by default, so that CI runs the same cases each time (FUZZ_SEED=random explores new ones).
seed=${FUZZ_SEED:-1}
[ "$seed" = random ] && seed=$RANDOM
venv=deploy/openapi-fuzz/.venv

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  else
    echo "fuzz-api: python3 with venv is needed (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --cache-dir "$HOME/.cache/pip" -r deploy/openapi-fuzz/requirements.txt
st="$PWD/$venv/bin/schemathesis"

dir=$(mktemp -d "${TMPDIR:-/tmp}/dronewatch-fuzz-XXXXXX")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
dw() { node bin/dronewatch.js --data "$dir/data" "$@"; }

server=''
fuzzer=''
cleanup() {
  local rc=$?
  # Nothing here may stop the cleanup half-way (errexit applies in traps too: a failed kill left the server running).
  set +e
  [ -n "$fuzzer" ] && kill -TERM "$fuzzer" 2>/dev/null
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -INT "$server" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$server" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ]; then echo "== fuzz-api: server log (last lines)" >&2; tail -n 40 "$dir/server.log" >&2 || true; fi
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then echo "fuzz-api: kept $dir" >&2; else rm -rf "$dir"; fi
  exit "$rc"
}
trap cleanup EXIT
# Interrupted (Ctrl-C, a CI timeout): exit, so that the EXIT trap stops the server.
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== fuzz-api: dronewatch up on $base (data in $dir), schemathesis $("$st" --version | awk '{print $NF}'), $examples examples per operation, seed $seed"
# A small fleet at 60x: reports, alerts, dead letters and lake files appear within seconds; little CPU next to the fuzzer.
# Node itself in the background (not through a function: $! must be its pid, for the SIGINT that stops it cleanly).
DRONEWATCH_LOG_LEVEL=warn node bin/dronewatch.js --data "$dir/data" up --port "$port" --drones 20 --speed 60 >"$dir/server.log" 2>&1 &
server=$!
for i in $(seq 1 120); do
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$base/health/live" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "fuzz-api: dronewatch up exited" >&2; exit 1; }
  [ "$i" = 120 ] && { echo "fuzz-api: the server did not answer within 60 s" >&2; exit 1; }
  sleep 0.5
done

suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$dir/password"
dw users create "fuzz-$suffix" --tenant default --role supervisor --role admin --password-file "$dir/password" >/dev/null
token=$(dw users token create "fuzz-$suffix" --name fuzz)
# A second account for run 3 (users disable/enable), which may well disable itself.
dw users create "fuzz-admin-$suffix" --tenant default --role admin --password-file "$dir/password" >/dev/null
admin_token=$(dw users token create "fuzz-admin-$suffix" --name fuzz)
drone_token=$(dw drones register --gateway --tenant default)

mkdir -p "$dir/report"
run() {
  local name=$1
  shift
  echo "== fuzz-api: $name"
  # --max-examples bounds each operation; the outer timeout bounds the run whatever happens (a hung request...).
  # From the temporary directory: schemathesis keeps its cache in ./.schemathesis. In the background with `wait`, which
  # a signal interrupts (bash runs traps only once a foreground command is done).
  (cd "$dir" && exec timeout 600 "$st" run "$base/openapi.json" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing --max-examples "$examples" --seed "$seed" --workers 1 \
    --request-timeout 30 --suppress-health-check all --warnings off \
    --report junit,vcr --report-dir "$dir/report/$name" "$@") &
  fuzzer=$!
  wait "$fuzzer"
  fuzzer=''
}

# 1. Ingestion, with the gateway's credential (officers' tokens are refused by POST /v1/reports, by design).
run ingestion -H "Authorization: Bearer $drone_token" --include-path /v1/reports

# 2. Every other operation, with the all-roles account's API token. Excluded, and why:
# - GET /v1/alerts/stream, GET /v1/fleet/stream: Server-Sent Events that never end; a request would only time out.
#   Their 401/403 and headers are covered by test/server/sse.test.ts and test/security.
# - POST /v1/reports: run 1 (this token is not a drone's: every case would be the same 403).
# - POST /v1/users/{username}/disable and /enable: run 3. Schemathesis reuses values from earlier answers (the user
#   names GET /v1/users lists): it disabled the account it ran as, and every later case got 401.
# Not excluded: POST /v1/auth/logout (with a bearer token it ends no session: the token stays valid) and
# POST /v1/auth/password (the fuzzer never knows the current password: 401, then 429 from the login limiter).
run api -H "Authorization: Bearer $token" \
  --exclude-path /v1/alerts/stream --exclude-path /v1/fleet/stream --exclude-path /v1/reports \
  --exclude-path '/v1/users/{username}/disable' --exclude-path '/v1/users/{username}/enable'

# 3. Disabling and enabling users, last, with an admin account of its own.
run users -H "Authorization: Bearer $admin_token" \
  --include-path '/v1/users/{username}/disable' --include-path '/v1/users/{username}/enable'

# A run whose credential stopped working part-way passes while testing nothing but 401s: runs 1 and 2 must never
# have met a refused token (schemathesis' cassettes hold every request and answer).
"$venv/bin/python" - "$dir/report" <<'PY'
import collections, glob, sys, yaml
failed = False
for run in ('ingestion', 'api'):
    [cassette] = glob.glob(f'{sys.argv[1]}/{run}/vcr-*.yaml')
    with open(cassette, encoding='utf-8') as f:
        interactions = yaml.safe_load(f)['http_interactions']
    classes = collections.Counter()
    revoked = 0
    for i in interactions:
        response = i.get('response') or {}
        classes[str((response.get('status') or {}).get('code'))[0] + 'xx'] += 1
        # The message src/server/auth/plugin.ts answers for a bearer token it does not accept (any more).
        revoked += 'revoked bearer token' in str((response.get('body') or {}).get('string', ''))
    print(f'fuzz-api: {run}: {len(interactions)} requests, {dict(sorted(classes.items()))}, credential refused {revoked} times')
    if revoked:
        print(f'fuzz-api: {run}: its credential stopped working part-way: what came after tested authentication only', file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
PY

echo "== fuzz-api: passed (no 5xx, every answer as described)"
