#!/usr/bin/env bash
# The deployment smoke test (`npm run test:deploy`): the image and compose stack users get, really run under podman.
#   1. base images (pulled when a registry answers, else Debian stand-ins: base-images.sh)
#   2. build infra/Dockerfile
#   3. the compose stack up (infra/docker-compose.yml, ENCODER_REPLICAS=2)
#   4. the digits pipeline through the `cli` service's container; records streamed into a source from a second
#      container (redis-cli, as any client would); the alerts read back
#   5. one encoder container's process killed: the restart policy brings it back and streaming goes on
#   6. the redis container restarted: every acknowledged record is still there (AOF on the named volume)
#   7. everything torn down (also on failure)
# Prints a summary; exits 0 when every check passed, 1 on a failure, 77 when this machine cannot run containers.
#
# podman-compose 1.0.3 (Debian 12) is the compose implementation here; where it differs from Docker Compose this
# script does what Compose would: it starts redis first and waits for its health check (depends_on conditions are
# not read), names the services to start (profiles are not read), runs health checks itself (podman schedules them
# with systemd timers, absent here), and keeps podman-compose's output, which echoes every `-e VAR=value` it passes,
# out of the terminal: it goes to a private log printed, with the password masked, only on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

PROJECT=lfsmoke
TAG=smoke
COMPOSE=(podman-compose -p "$PROJECT" -f infra/docker-compose.yml)
NETWORK=${PROJECT}_default
REDIS_CTR=${PROJECT}_redis_1
REDIS_IMAGE=docker.io/library/redis:7.2-bookworm
SOURCE=smoke
MODEL=digits
NOISE=20

# podman-compose's output and the CLI's stderr (they may hold the password): readable by this user only, deleted at exit.
private=$(mktemp -d)
chmod 700 "$private"
log=$private/compose.log
trap 'rm -rf "$private"' EXIT
REDIS_PASSWORD=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
export REDIS_PASSWORD ENCODER_REPLICAS=2 LATENTFLOW_IMAGE_TAG=$TAG
started=$(date +%s)
summary=()

say() { echo "smoke: $*"; }
note() { summary+=("$1"); say "$1"; }
masked() { sed "s/$REDIS_PASSWORD/***/g" "$@"; }
fail() {
  say "FAILED: $*" >&2
  for file in "$log" "$private/cli-stderr.log"; do
    [ -s "$file" ] || continue
    echo "--- $(basename "$file") (password masked), last 40 lines ---" >&2
    tail -40 "$file" | masked >&2
  done
  for ctr in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' 2>/dev/null); do
    echo "--- $ctr (last 15 lines) ---" >&2
    podman logs --tail 15 "$ctr" 2>&1 | masked >&2 || true
  done
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
compose() { "${COMPOSE[@]}" "$@" >>"$log" 2>&1; }

teardown() {
  "${COMPOSE[@]}" down -v >>"$log" 2>&1 || true
  # podman-compose 1.0.3 leaves containers it did not start itself (restarts, `run`): remove by project label.
  podman rm -f $(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT") >/dev/null 2>&1 || true
  podman volume rm -f "${PROJECT}_redis-data" >/dev/null 2>&1 || true
  podman network rm -f "$NETWORK" >/dev/null 2>&1 || true
}

# redis-cli in the redis container, authenticated from that container's own environment.
rcli() { podman exec "$REDIS_CTR" sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli "$@"' rcli "$@"; }
# The latentflow CLI in a fresh container of the `cli` service (its compose environment and network). Detached, then
# waited for: podman-compose 1.0.3's foreground `run` mixes its own lines into the container's output and drops the
# container's exit code. Prints the CLI's stdout; returns its exit code.
lf() {
  local name="${PROJECT}_cli_$RANDOM$RANDOM" code
  "${COMPOSE[@]}" run -d -T --no-deps --name "$name" cli "$@" >>"$log" 2>&1 || fail "podman-compose run cli $*"
  code=$(podman wait "$name")
  podman logs "$name" 2>>"$private/cli-stderr.log"
  podman rm -f "$name" >/dev/null
  return "$code"
}

# Redis's health check as compose defines it, run until it passes (podman has no timer to run it here).
wait_redis() {
  local deadline=$((SECONDS + 60))
  until podman healthcheck run "$REDIS_CTR" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "redis did not become healthy in 60 s"
    sleep 0.5
  done
}

# Waits until the source's consumer group has read and acknowledged everything (lag 0, pending 0).
wait_drained() {
  local deadline=$((SECONDS + ${1:-120})) info
  while :; do
    info=$(rcli XINFO GROUPS "lf:in:$SOURCE" 2>/dev/null | paste -sd' ')
    if [[ "$info" =~ pending\ 0\ .*\ lag\ 0$ ]]; then return 0; fi
    [ $SECONDS -lt $deadline ] || fail "source $SOURCE not drained after ${1:-120} s: $info"
    sleep 0.5
  done
}

# XADD commands (redis-cli --pipe, inline form) for digits rows [from, to) and, with a third argument, that many rows
# of uniform noise over the digits' range (ids noise-<n>), all with `values` as comma-separated numbers.
records() {
  zcat data/digits.csv.gz | awk -F, -v from="$1" -v to="$2" -v noise="${3:-0}" -v source="$SOURCE" '
    NR > 1 && NR - 2 >= from && NR - 2 < to {
      v = $2; for (i = 3; i <= 65; i++) v = v "," $i
      printf "XADD lf:in:%s * id %s values %s\r\n", source, $1, v
    }
    END {
      srand(17)
      for (n = 1; n <= noise; n++) {
        v = int(rand() * 17); for (i = 2; i <= 64; i++) v = v "," int(rand() * 17)
        printf "XADD lf:in:%s * id noise-%d values %s\r\n", source, n, v
      }
    }'
}

# Streams records from a second container on the compose network; prints how many Redis acknowledged.
stream() {
  local out
  out=$(podman run --rm -i --network "$NETWORK" --env REDIS_PASSWORD "$REDIS_IMAGE" \
    sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h redis --pipe' 2>&1) || fail "streaming container: $out"
  [[ "$out" =~ errors:\ ([0-9]+),\ replies:\ ([0-9]+) ]] || fail "streaming container: $out"
  [ "${BASH_REMATCH[1]}" = 0 ] || fail "Redis refused ${BASH_REMATCH[1]} XADDs: $out"
  echo "${BASH_REMATCH[2]}"
}

scored() { # records of the source with codes and errors stored (the errors sorted set of stream.<source>)
  local key
  key=$(rcli --scan --pattern "*:$MODEL:1:stream.$SOURCE*:errors" | head -1)
  [ -n "$key" ] || { echo 0; return; }
  rcli ZCARD "$key"
}

command -v podman-compose >/dev/null || { say "podman-compose is not installed (apt-get install -y podman-compose)"; exit 77; }
if [ -e infra/.env ]; then
  fail "infra/.env exists and podman-compose 1.0.3 lets it override this test's settings: move it aside first"
fi
bash infra/smoke/podman-setup.sh || exit 77
teardown # a previous run's leftovers
trap 'teardown; rm -rf "$private"' EXIT

# 1. Base images.
t=$(now)
bash infra/smoke/base-images.sh || fail "base images"
if ! out=$(podman run --rm --network none "$REDIS_IMAGE" true 2>&1); then
  say "podman cannot run containers on this machine: $out"
  exit 77
fi
note "base images ready in $(since "$t") s"

# 2. The image.
t=$(now)
podman build -f infra/Dockerfile -t "latentflow:$TAG" . >"$private/build.log" 2>&1 || { tail -30 "$private/build.log" >&2; fail "podman build"; }
size=$(podman image inspect "latentflow:$TAG" --format '{{.Size}}')
note "image latentflow:$TAG built in $(since "$t") s, $((size / 1000000)) MB"

# Training speed in a container of the image against the same command on this host (its npm ci build): `fit` on
# digits, alternating, five runs each; the medians of the samples/s each run reports.
samples_per_second() { awk '$1 == "samples/s" { print $2 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
FIT=(fit data/digits.csv.gz --id id --label label)
inside=() host=()
for _ in 1 2 3 4 5; do
  inside+=("$(podman run --rm --network none "latentflow:$TAG" latentflow "${FIT[@]}" --out /tmp/m.lfm 2>/dev/null | samples_per_second)")
  [ -f dist/cli/main.js ] && host+=("$(node dist/cli/main.js "${FIT[@]}" --out "$private/m.lfm" 2>/dev/null | samples_per_second)")
done
inside_median=$(printf '%s\n' "${inside[@]}" | median)
[ -n "$inside_median" ] || fail "fit in the container printed no samples/s"
# The backend line, up to what was requested (the rest says why tfjs-node was skipped).
backend_line() { awk '/^tfjs backend/ && !done { sub(/, requested .*/, ""); print; done = 1 }'; }
backend=$(podman run --rm --network none "latentflow:$TAG" latentflow "${FIT[@]}" --out /tmp/m.lfm 2>&1 | backend_line)
if [ ${#host[@]} -gt 0 ]; then
  host_median=$(printf '%s\n' "${host[@]}" | median)
  host_backend=$(node dist/cli/main.js "${FIT[@]}" --out "$private/m.lfm" 2>&1 | backend_line)
  note "training (fit on digits, median of 5): $inside_median samples/s in the container, $host_median on the host, ratio $(awk -v a="$inside_median" -v b="$host_median" 'BEGIN { printf "%.2f", a / b }'); container ${backend:-backend unknown}; host ${host_backend:-backend unknown}"
else
  note "training (fit on digits, median of 5): $inside_median samples/s in the container (no host build to compare: npm ci first); ${backend:-backend unknown}"
fi

# 3. The stack: redis, then the workers with two encoders.
t=$(now)
compose up -d --no-build redis || fail "compose up redis"
wait_redis
compose up -d --no-build trainer encoder downstream || fail "compose up workers"
encoders=$(podman ps --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=encoder" --format '{{.Names}}' | sort)
[ "$(echo "$encoders" | wc -l)" = 2 ] || fail "expected 2 encoder containers, found: $encoders"
note "stack up in $(since "$t") s: redis, trainer, downstream and encoders $(echo "$encoders" | paste -sd' ')"

# 4. The digits pipeline from the cli container, then a source fed from a second container.
t=$(now)
summary_json=$(lf run data/digits.csv.gz --model "$MODEL" --id id --label label --wait --no-report --json) || fail "pipeline run"
read -r records alerts nmi accuracy < <(node -e '
  const s = JSON.parse(process.argv[1]);
  console.log(s.records, s.anomalies.alerts, s.clustering.nmi.toFixed(3), s.classification.accuracy.toFixed(3));' "$summary_json") \
  || fail "run summary: $summary_json"
[ "$records" = 1797 ] || fail "the run encoded $records records, not 1797"
note "digits pipeline through the cli container in $(since "$t") s: $records records, NMI $nmi, SVM accuracy $accuracy, $alerts alerts"

lf models promote "$MODEL" 1 >/dev/null || fail "models promote"
lf source add "$SOURCE" --model "$MODEL" >/dev/null || fail "source add"
t=$(now)
sent=$(records 0 1000 "$NOISE" | stream)
[ "$sent" = $((1000 + NOISE)) ] || fail "$sent of $((1000 + NOISE)) records acknowledged"
wait_drained
dead=$(rcli XLEN "lf:dlq:$SOURCE")
[ "$dead" = 0 ] || fail "$dead records dead-lettered: $(rcli XREVRANGE "lf:dlq:$SOURCE" + - COUNT 1 | head -c 300)"
noise_alerts=$(lf alerts tail --count 100000 | grep -c "noise-" || true)
note "$sent records streamed from a second container and scored in $(since "$t") s; $noise_alerts of $NOISE noise records alerted"
[ "$noise_alerts" = "$NOISE" ] || fail "only $noise_alerts of $NOISE noise records alerted"

# 5. An encoder's process dies: its container restarts (restart: unless-stopped) and streaming goes on.
victim=$(echo "$encoders" | head -1)
restarts=$(podman inspect "$victim" --format '{{.RestartCount}}')
pid=$(podman top "$victim" hpid,args | awk '/dist\/services\/encoder/ { print $1; exit }')
[ -n "$pid" ] || fail "no encoder process in $victim"
t=$(now)
killed_at=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
kill -KILL "$pid"
deadline=$((SECONDS + 60))
until [ "$(podman inspect "$victim" --format '{{.RestartCount}} {{.State.Running}}')" = "$((restarts + 1)) true" ]; do
  [ $SECONDS -lt $deadline ] || fail "$victim did not restart within 60 s: $(podman inspect "$victim" --format '{{.State.Status}} {{.RestartCount}}')"
  sleep 0.2
done
back=$(since "$t")
until podman logs --since "$killed_at" "$victim" 2>&1 | grep -q "source $SOURCE: consuming"; do
  [ $SECONDS -lt $deadline ] || fail "the restarted $victim does not consume $SOURCE again"
  sleep 0.2
done
consuming=$(since "$t")
sent2=$(records 1000 1400 | stream)
wait_drained
note "encoder process killed in $victim: container running again after $back s, consuming the source again after $consuming s; $sent2 more records scored $(since "$t") s after the kill"

# 6. Redis restarts: the acknowledged records survive on the AOF volume, and the workers reconnect.
before=$(rcli XLEN "lf:in:$SOURCE")
total=$((sent + sent2))
[ "$before" = "$total" ] || fail "stream holds $before records, $total were acknowledged"
t=$(now)
podman restart "$REDIS_CTR" >/dev/null || fail "podman restart redis"
wait_redis
healthy=$(since "$t")
after=$(rcli XLEN "lf:in:$SOURCE")
[ "$after" = "$total" ] || fail "after the redis restart the stream holds $after of $total acknowledged records"
sent3=$(records 1400 1797 | stream)
wait_drained
total=$((total + sent3))
count=$(scored)
expected=$((total))
[ "$count" = "$expected" ] || fail "$count records have codes and errors, $expected were acknowledged"
note "redis restarted: healthy after $healthy s, $after of $after acknowledged records kept; $sent3 more scored $(since "$t") s after the restart; $count of $total acknowledged records scored in all, 0 lost"

# 7. Teardown, checked (the EXIT trap runs it again, harmlessly, and on any failure above).
t=$(now)
teardown
left=$(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT" | wc -l)
[ "$left" = 0 ] || fail "$left containers left after teardown"
if podman volume exists "${PROJECT}_redis-data"; then fail "volume ${PROJECT}_redis-data left after teardown"; fi
note "torn down in $(since "$t") s: no container, volume or network left"

echo
echo "deployment smoke test passed in $(( $(date +%s) - started )) s"
for line in "${summary[@]}"; do echo "  - $line"; done
