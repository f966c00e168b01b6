// Package k8stest checks the Helm chart (charts/tau) and the kustomize base (deploy/)
// against the contract of the server (its TAU_* variables as README.md's generated table lists
// them, its ports and probes): rendered objects are decoded
// strictly into their typed Kubernetes API objects and checked for the invariants that
// bind chart and server. apiserver_test.go applies them to a real kube-apiserver.
package k8stest
