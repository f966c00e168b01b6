# Cluster mode: the long runs (repeated), beside what make test runs once.
#   make test-cluster    the in-process fault runs (3 and 5 nodes, porcupine) and the real-process
#                        C-rule tests, three times each, with the race detector
#   make bench-cluster   hack/cluster-bench.sh: one node against three members, failover, catch-up

.PHONY: test-cluster
test-cluster: ## Cluster mode's fault and real-process tests, three times each (CI runs it)
	$(GO) test -race -count=3 -timeout 30m ./internal/cluster/... ./internal/replica/
	$(GO) test -race -count=3 -timeout 30m -run 'TestC[0-9]_|TestCluster|TestSingleNodeDataFounds' ./internal/e2e/

.PHONY: bench-cluster
bench-cluster: ## One node against a 3-member cluster on loopback, failover over 20 kills, catch-up of 10M points
	hack/cluster-bench.sh
