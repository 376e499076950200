"""`maas-local cluster`: a node-less Kubernetes cluster on loopback, from real upstream builds.

etcd, kube-apiserver and kube-controller-manager are the real ones, built from their Go modules
at the versions pinned in `tools/upstream` (`scripts/build-upstream.sh`); the API server gets the
real CRDs where a module carries them, and stand-ins (`crds/`) where the module proxy serves none.
ServiceAccount tokens, TokenRequest, TokenReview, RBAC, server-side apply, namespace deletion and
garbage collection are therefore the real ones. What cannot run here (the controllers that write
status, the gateway's data plane, the model servers) is played by the rest of maas-local.
"""
