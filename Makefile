# The test command of the README: formatting, vet, every test.
.PHONY: check fmt vet test race race-twin bench build

check: fmt vet test race-twin

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

bench:
	go test -run '^$$' -bench . -benchmem -count 6 ./internal/sched/ | tee bench.out

build:
	go build -o carnot ./cmd/carnot
