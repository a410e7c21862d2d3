# bitflow — two commands do everything on a fresh machine:
#   make run    build bitflow and run the default workflow (offline)
#   make test   vet and test everything
# Go modules are fetched by the go command as needed; nothing else is required.

GO      ?= go
BIN     := bin/bitflow
PKG     := github.com/bitflow-dev/bitflow
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X $(PKG)/internal/version.Version=$(VERSION)
WORKFLOW ?= workflows/hello.yaml

.PHONY: all build run test test-race bench lint fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## run: build and run the default workflow; run it again and nothing executes
run: build
	./$(BIN) run $(WORKFLOW)

## test: everything CI runs (unit, golden, end-to-end, determinism tests)
test: lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./runner/ ./runner/store/ ./steps/... ./workflows/... ./internal/...

## bench: benchmarks (speed and memory are measured here, never asserted in tests)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## lint: formatting and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run the loader fuzzer for a while (FUZZTIME=10m)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./workflows/ -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
