# bitflow — two commands do everything on a fresh machine:
#   make run    build bitflow and run the default workflow (offline)
#   make test   vet and test everything
# Go modules are fetched by the go command as needed; nothing else is required.

GO      ?= go
BIN     := bin/bitflow
PKG     := github.com/bitflow-dev/bitflow
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X $(PKG)/internal/version.Version=$(VERSION)
WORKFLOW ?= workflows/bitnet_kd.yaml
BITFLOW  := ./$(BIN)

.PHONY: all build run test test-slurm bench dryrun-test lint fuzz clean teacher collect train eval dryrun

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## run: build and run the default pipeline (workflows/bitnet_kd.yaml); run it
## again and nothing executes. WORKFLOW=... runs another one.
run: build
	$(BITFLOW) run $(WORKFLOW)

## The seed project's targets, as thin wrappers over `bitflow run` with a
## target step (each runs that step and what it needs, from the cache if done):
teacher: build  ## the teacher and its baseline (teacher_baseline.json)
	$(BITFLOW) run $(WORKFLOW) baseline
collect: build  ## KD traces of the teacher (Parquet)
	$(BITFLOW) run $(WORKFLOW) traces
train: build    ## the ternary student
	$(BITFLOW) run $(WORKFLOW) student
eval: build     ## the student's evaluation and QEI (mini_evaluation_report.json)
	$(BITFLOW) run $(WORKFLOW) eval
dryrun: build   ## the 7B memory dry run
	$(BITFLOW) run $(WORKFLOW) dryrun

## test: everything CI runs (unit, golden, end-to-end, determinism tests)
test: lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./runner/ ./runner/store/ ./steps/... ./workflows/... ./internal/...

## test-slurm: the Slurm executor end to end against a real Slurm, which must
## be up (../shared/slurm/start-slurm.sh; .ci/run starts and stops it). The
## tests skip only where Slurm is not installed or could not start (.ci/run
## sets BITFLOW_SLURM_UNAVAILABLE then), and fail if it is installed
## but does not work; `make test` skips them.
test-slurm:
	BITFLOW_TEST_SLURM=1 $(GO) test -count=1 -timeout 20m -v -run '^TestSlurm' ./runner/slurm/

## bench: one table measured in one run (internal/benchtable): matmul GFLOPS
## at the student's shapes, training and decode tokens/s, allocations per
## training step, the cached rerun of a 200-step workflow; then the 7B and
## seed dry runs of dryrun-test. Speed and memory are measured here, never
## asserted in tests. BENCH_FLAGS="-cpu 1,2 -count 5 -json" etc.
BENCH_FLAGS ?=
bench:
	$(GO) run ./internal/benchtable $(BENCH_FLAGS)
	$(MAKE) dryrun-test

## bench-go: every go test benchmark of every package (the table's bodies
## and more: the other matmul paths, packed 7B projections, the tokenizer)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-torch: the PyTorch CPU reference of the default student (same
## shapes, ternary fake-quant, AdamW) at each of TORCH_THREADS, its OpenMP
## and OpenBLAS pools pinned to that count; needs torch (Debian: apt-get
## install -y python3-torch). bench-compare prints bitflow's table with the
## reference's rows beside it at 1 and 2 threads, medians of 5 runs. On a
## busy machine prefix OMP_WAIT_POLICY=PASSIVE: torch's spinning OpenMP
## threads otherwise slow it 10x at 2 threads (the environment is passed on).
TORCH_BENCH   ?= ../shared/bench/torch_student.py
PYTHON        ?= /usr/bin/python3
TORCH_THREADS ?= 1 2
bench-torch:
	@if ! $(PYTHON) -c 'import torch' 2>/dev/null; then \
	  echo "bench-torch: $(PYTHON) cannot import torch; install it with"; \
	  echo "  sudo apt-get install -y python3-torch   (Debian/Ubuntu; then PYTHON=/usr/bin/python3)"; \
	  echo "  or: pip install torch --index-url https://download.pytorch.org/whl/cpu   (PYTHON=path/to/python)"; \
	  exit 0; fi; \
	if [ ! -f "$(TORCH_BENCH)" ]; then echo "bench-torch: no $(TORCH_BENCH); set TORCH_BENCH=path/to/torch_student.py"; exit 1; fi; \
	for t in $(TORCH_THREADS); do \
	  echo "OMP_NUM_THREADS=$$t OPENBLAS_NUM_THREADS=$$t MKL_NUM_THREADS=$$t $(PYTHON) $(TORCH_BENCH) --threads $$t"; \
	  OMP_NUM_THREADS=$$t OPENBLAS_NUM_THREADS=$$t MKL_NUM_THREADS=$$t $(PYTHON) $(TORCH_BENCH) --threads $$t || exit 1; \
	done
bench-compare:
	$(GO) run ./internal/benchtable -cpu 1,2 -count 5 -torch $(TORCH_BENCH) -python $(PYTHON) $(BENCH_FLAGS)

## dryrun-test: TestDryrun7B on the real 7B and seed (8.85B) shapes, which
## `make test` skips (a few GB of RAM and some seconds each); -v logs the reports
dryrun-test:
	BITFLOW_DRYRUN_7B=1 $(GO) test -count=1 -v -run '^TestDryrun7B$$' ./steps/dryrun/
	BITFLOW_DRYRUN_7B=seed $(GO) test -count=1 -v -run '^TestDryrun7B$$' ./steps/dryrun/

## lint: formatting and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run the loader fuzzer for a while (FUZZTIME=10m)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./workflows/ -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)

## clean: remove the binary and empty the default store (every result is
## recomputed on the next run; `bitflow gc --keep N` is the gentle way)
clean:
	rm -rf bin
	find artifacts -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
