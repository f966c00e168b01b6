# Benchmarks of the client and of Tau against redis-server; included by the main Makefile.

.PHONY: bench-client bench-compare bench-tls

bench-client: ## Client encode/decode and round-trip benchmarks, with allocations
	go test -run '^$$' -bench . -benchmem ./pkg/client/

bench-compare: ## Tau vs redis-server and vs a no-op server, ops/s and server CPU per request (DURATION, CONNS, PIPELINES, SERIES, ROWS)
	hack/bench.sh

bench-tls: ## TLS against plaintext: one build started twice, tau bench alternating, medians of ops/s, server CPU per request, p99 (DURATION, CONNS, PIPELINES, TESTS, ROUNDS)
	hack/tls-bench.sh
