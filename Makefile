# The test command of the README: formatting, vet, every test.
.PHONY: check fmt vet test race race-twin race-live nocgo bench build

# go-nvml's cgo wrappers call functions that nvml.h marks deprecated; the
# C compiler's warnings about them (over a hundred lines) are noise.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

check: fmt vet test race-twin race-live nocgo

fmt:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

test:
	go test ./...

race:
	go test -race ./...

# The packages that run goroutines (the twin's verifier, carnot plan's
# workers), under the race detector.
race-twin:
	go test -race ./internal/sim/ ./internal/scenario/

# The live control plane's concurrent packages: server (handlers and the
# loop), agent, the store's group commit, the client, the fake GPUs.
race-live:
	go test -race ./internal/server/ ./internal/agent/ ./internal/store/... ./internal/client/ ./internal/gpu/

# Without a C compiler (CGO_ENABLED=0) carnot still builds and runs, with
# fake GPUs only: NVML (go-nvml) needs cgo.
nocgo:
	CGO_ENABLED=0 go build ./...
	CGO_ENABLED=0 go test ./internal/gpu/ ./internal/agent/

bench:
	go test -run '^$$' -bench . -benchmem -count 6 ./internal/sched/ | tee bench.out

build:
	go build -o carnot ./cmd/carnot
