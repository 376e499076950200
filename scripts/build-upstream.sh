#!/usr/bin/env bash
# Build the pinned upstream components of `maas-local cluster` from their Go modules, once.
#
# The pins live in tools/upstream/*/go.mod and go.sum (one Go tools module per component, so that
# one component's dependencies never move another's). The binaries and CRDs go into a cache folder
# named after a hash of those files: while the pins are unchanged, a second run only prints the
# folder. Nothing is downloaded but Go modules, which go.sum verifies.
#
#   scripts/build-upstream.sh            build if needed, print the cache folder
#   MAAS_UPSTREAM_CACHE=DIR ...          keep the cache elsewhere (default ~/.cache/maas-e2e/upstream)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pins="$root/tools/upstream"
command -v go >/dev/null || { echo "build-upstream: Go is not installed (https://go.dev/dl)" >&2; exit 2; }

# The same key src/maas_local/cluster/binaries.py computes: sha256 over every go.mod and go.sum
# under tools/upstream, in byte order of their paths.
key="$(cd "$pins" && find . \( -name go.mod -o -name go.sum \) | LC_ALL=C sort | sed 's|^\./||' \
  | while read -r f; do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-16)"
base="${MAAS_UPSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/maas-e2e/upstream}"
out="$base/$key"
if [ -f "$out/manifest.json" ]; then echo "$out"; exit 0; fi

mkdir -p "$base"
work="$(mktemp -d "$base/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/crds"
export GOTOOLCHAIN=local

version_of() { (cd "$pins/$1" && go list -m -f '{{.Version}}' "$2"); }
started=$(date +%s)

# kube-apiserver and kube-controller-manager, stamped with their release so that
# `kubectl version` reports it (as Kubernetes' own build does).
kube="$(version_of kubernetes k8s.io/kubernetes)"
minor="$(echo "$kube" | cut -d. -f2)"
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(cd "$pins/kubernetes" && go build -trimpath -ldflags "-s -w$stamp" -o "$work/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)

etcd="$(version_of etcd go.etcd.io/etcd/server/v3)"
(cd "$pins/etcd" && go build -trimpath -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3)

# CRDs from the modules that carry them.
dir_of() { (cd "$pins/crds" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
gateway_api="$(dir_of sigs.k8s.io/gateway-api)"
openshift_api="$(dir_of github.com/openshift/api)"
for kind in gatewayclasses gateways httproutes referencegrants grpcroutes; do
  cp "$gateway_api/config/crd/standard/gateway.networking.k8s.io_$kind.yaml" "$work/crds/"
done
cp "$openshift_api/route/v1/zz_generated.crd-manifests/routes.crd.yaml" "$work/crds/route.openshift.io_routes.yaml"
cp "$openshift_api/config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_ingresses.crd.yaml" \
  "$work/crds/config.openshift.io_ingresses.yaml"
chmod -R u+w "$work/crds"

cat > "$work/manifest.json" <<EOF
{"kubernetes": "$kube", "etcd": "$etcd",
 "gateway_api": "$(basename "$gateway_api" | cut -d@ -f2)",
 "openshift_api": "$(basename "$openshift_api" | cut -d@ -f2)",
 "go": "$(go env GOVERSION)", "build_seconds": $(( $(date +%s) - started ))}
EOF
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
echo "$out"
