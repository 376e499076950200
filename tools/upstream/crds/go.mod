// Pins the CRDs `maas-local cluster` installs from upstream modules (scripts/build-upstream.sh):
// Gateway API v1.2.1 (what OpenShift 4.19 ships), and OpenShift's Route and cluster Ingress.
// Kuadrant's policies and KServe's LLMInferenceService are not served by the module proxy:
// src/maas_local/cluster/crds holds stand-ins for them.
module github.com/opendatahub-io/maas-e2e/tools/upstream/crds

go 1.24

require (
	github.com/openshift/api v0.0.0-20251015095338-264e80a2b6e7
	sigs.k8s.io/gateway-api v1.2.1
)
