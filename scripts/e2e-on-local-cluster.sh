#!/usr/bin/env bash
# The e2e suite's cluster target against `maas-local cluster`: start the node-less cluster from
# the pinned upstream builds (scripts/build-upstream.sh first), run
# `pytest -m e2e --maas-target cluster` against its kubeconfig (full bring-up, every e2e test,
# teardown), check that the run left nothing on the cluster, then stop the cluster. Extra
# arguments go to pytest (e.g. -n 2, --junitxml=...). The gateway listens on 127.0.0.1:80, the
# Gateway listener's port: run as root.
#   INTERRUPT_FIRST_AFTER=SECONDS  first kill a run (SIGKILL, no teardown) that many seconds in:
#                                  the real run must take over and remove what it left
#   PREINSTALL=1                   first install the stack and the demo model as someone else
#                                  would (the seed's way, not the suite's): pass
#                                  --maas-skip-deploy to test that installed MaaS
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
work="$(mktemp -d)"
kubeconfig="$work/kubeconfig"

"$python" -m maas_local cluster up --kubeconfig-out "$kubeconfig" > "$work/cluster.log" 2>&1 &
cluster=$!
stop() {
  kill -INT "$cluster" 2>/dev/null || true
  wait "$cluster" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

# The kubeconfig appears once everything answers; a cluster that exits first says why.
for _ in $(seq 1 600); do
  [ -s "$kubeconfig" ] && break
  if ! kill -0 "$cluster" 2>/dev/null; then cat "$work/cluster.log" >&2; exit 1; fi
  sleep 0.2
done
[ -s "$kubeconfig" ] || { echo "maas-local cluster did not start in 120 s" >&2; cat "$work/cluster.log" >&2; exit 1; }
cat "$work/cluster.log"
KUBECONFIG="$kubeconfig" kubectl version

cd "$root"
if [ -n "${PREINSTALL:-}" ]; then
  { kubectl kustomize manifests/stack; echo ---; kubectl kustomize manifests/models/simulator; } \
    | KUBECONFIG="$kubeconfig" kubectl apply --server-side --field-manager=seed-install -f - >/dev/null
  echo "installed manifests/stack and manifests/models/simulator as field manager seed-install"
fi
suite=("$python" -m pytest -m e2e --maas-target cluster --kubeconfig="$kubeconfig")
if [ -n "${INTERRUPT_FIRST_AFTER:-}" ]; then
  timeout -s KILL "$INTERRUPT_FIRST_AFTER" "${suite[@]}" -q -p no:cacheprovider \
    --junitxml="$work/killed.xml" --alluredir="$work/killed-allure" > "$work/killed.log" 2>&1 || true
  echo "killed a first run after ${INTERRUPT_FIRST_AFTER}s; what it left:"
  KUBECONFIG="$kubeconfig" kubectl get namespaces -l app.kubernetes.io/managed-by=maas-e2e
fi
if ! "${suite[@]}" "$@"; then
  echo "--- maas-local cluster's own output:" >&2
  cat "$work/cluster.log" >&2
  exit 1
fi

# Nothing of the run may stay: the suite's namespaces and maas-api's tier namespaces are
# finalised by the real namespace controller.
for _ in $(seq 1 300); do
  left="$(KUBECONFIG="$kubeconfig" kubectl get namespaces -o name \
    -l 'app.kubernetes.io/managed-by=maas-e2e' ; KUBECONFIG="$kubeconfig" kubectl get namespaces \
    -o name -l 'maas.opendatahub.io/tier-namespace=true')"
  [ -z "$left" ] && { echo "the cluster holds nothing of the run"; exit 0; }
  sleep 0.2
done
echo "left on the cluster after the run:" >&2
echo "$left" >&2
exit 1
