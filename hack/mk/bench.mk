# Benchmarks of the client and of Tau against redis-server; included by the main Makefile.

.PHONY: bench-client bench-compare

bench-client: ## Client encode/decode and round-trip benchmarks, with allocations
	go test -run '^$$' -bench . -benchmem ./pkg/client/

bench-compare: ## Tau vs redis-server and vs a no-op server, ops/s and server CPU per request (DURATION, CONNS, PIPELINES, SERIES, ROWS)
	hack/bench.sh
