// Command benchtable is `make bench`: it measures bitflow's speed in one run
// and prints one table — matmul GFLOPS at the small student's shapes
// (forward, input-gradient and weight-gradient products, plus square
// products), training tokens/s of the default student, KV-cache decode
// tokens/s on the fake-quant and the packed ternary path, allocations per
// training step after warm-up, and the time of a cached rerun of a 200-step
// workflow. With -torch it runs the PyTorch CPU reference of the same
// student at the same thread counts and adds its figures beside bitflow's.
//
// The measurements are the benchmark bodies of `go test -bench`
// (model/benchmarks.go, runner/runnerbench) run through testing.Benchmark.
//
//	go run ./internal/benchtable [-cpu 1,2] [-count 5] [-json] [-torch ../shared/bench/torch_student.py]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/runner/runnerbench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// Row is one line of the table. Value is the median of Runs (one per
// -count); Threads is GOMAXPROCS for bitflow, the torch thread count for
// the reference.
type Row struct {
	Metric  string    `json:"metric"`
	Value   float64   `json:"value"`
	Unit    string    `json:"unit"`
	Threads int       `json:"threads"`
	Notes   string    `json:"notes,omitempty"`
	Runs    []float64 `json:"runs,omitempty"`
}

// Report is the table with the machine it was measured on.
type Report struct {
	CPU        string    `json:"cpu"`
	NumCPU     int       `json:"num_cpu"`
	GOOS       string    `json:"goos"`
	GOARCH     string    `json:"goarch"`
	GoVersion  string    `json:"go_version"`
	MatmulPath string    `json:"matmul_path"`
	BenchTime  string    `json:"benchtime"`
	Count      int       `json:"count"`
	Short      bool      `json:"short,omitempty"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	Rows       []Row     `json:"rows"`
}

type options struct {
	cpus      []int
	count     int
	benchtime string
	short     bool
	json      bool
	allPaths  bool
	steps     int
	torch     string
	python    string
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	cpu := fs.String("cpu", strconv.Itoa(runtime.GOMAXPROCS(0)), "comma-separated GOMAXPROCS values (and torch thread counts) to measure at")
	fs.IntVar(&o.count, "count", 1, "measure every figure this many times and report the median")
	fs.StringVar(&o.benchtime, "benchtime", "1s", "time (or Nx iterations) per measurement, as go test -benchtime")
	fs.BoolVar(&o.short, "short", false, "a tiny model, two matmul shapes and a 20-step workflow (a smoke test of the tool, not a measurement)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	fs.BoolVar(&o.allPaths, "all-paths", false, "measure matmul on every path this CPU runs (avx512, avx2, go), not only the one in use")
	fs.IntVar(&o.steps, "steps", 200, "exec steps of the cached-rerun workflow")
	fs.StringVar(&o.torch, "torch", "", "path of torch_student.py: run the PyTorch reference at each -cpu thread count and add its rows")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the Python with torch, for -torch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(*cpu, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-cpu: %q is not a positive integer", f)
		}
		o.cpus = append(o.cpus, n)
	}
	if o.count < 1 {
		return errors.New("-count must be at least 1")
	}
	if o.short && o.steps == 200 {
		o.steps = 20
	}
	if o.steps < 1 {
		return errors.New("-steps must be at least 1")
	}
	// testing.Benchmark reads the test.benchtime flag, which testing.Init
	// registers (a test binary has already done so).
	testing.Init()
	if err := flag.Set("test.benchtime", o.benchtime); err != nil {
		return fmt.Errorf("-benchtime: %w", err)
	}

	if o.torch != "" {
		if err := exec.Command(o.python, "-c", "import torch").Run(); err != nil {
			return fmt.Errorf("-torch: %s cannot import torch (%v); on Debian: apt-get install -y python3-torch", o.python, err)
		}
		if _, err := os.Stat(o.torch); err != nil {
			return fmt.Errorf("-torch: %w", err)
		}
	}

	// A failed measurement still prints the rows measured before it.
	rep, err := measure(o, stderr)
	if len(rep.Rows) > 0 {
		if o.json {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else if err := printTable(stdout, rep); err != nil {
			return err
		}
	}
	return err
}

// benchSetup is what one measurement pass needs.
type benchSetup struct {
	cfg      model.Config
	batch    int
	decode   int
	shapes   []model.MatmulShape
	paths    []string
	wideStep int
}

func setup(o options) benchSetup {
	s := benchSetup{cfg: model.DefaultConfig(), batch: 8, decode: 128, shapes: model.MatmulShapes(),
		paths: []string{model.MatmulPath()}, wideStep: o.steps}
	if o.allPaths {
		s.paths = model.MatmulPaths()
	}
	if o.short {
		c := &s.cfg
		c.NLayer, c.NHead, c.NEmbd, c.BlockSize, c.VocabSize = 1, 2, 32, 64, 64
		s.batch, s.decode = 2, 32
		s.shapes = slices.DeleteFunc(s.shapes, func(m model.MatmulShape) bool {
			return m.Name != "qkvo_fwd_2048x128x128" && m.Name != "square_256"
		})
	}
	return s
}

func measure(o options, progress io.Writer) (*Report, error) {
	start := time.Now()
	rep := &Report{CPU: cpuName(), NumCPU: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		GoVersion: runtime.Version(), MatmulPath: model.MatmulPath(), BenchTime: o.benchtime, Count: o.count,
		Short: o.short, Started: start.UTC().Truncate(time.Second)}
	defer func() { rep.Seconds = time.Since(start).Round(time.Second).Seconds() }()
	s := setup(o)
	saved := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(saved)
	r := s.cfg.Resolved()
	var bestTrain, bestTorch float64
	student := fmt.Sprintf("L%d H%d C%d T%d V%d B%d", r.NLayer, r.NHead, r.NEmbd, r.BlockSize, r.VocabSize, s.batch)
	for _, threads := range o.cpus {
		runtime.GOMAXPROCS(threads)
		add := func(row Row, err error) error {
			if err != nil {
				return err
			}
			row.Threads = threads
			rep.Rows = append(rep.Rows, row)
			fmt.Fprintf(progress, "  %-40s %10s %s\n", row.Metric, format(row.Value), row.Unit)
			return nil
		}
		fmt.Fprintf(progress, "benchtable: GOMAXPROCS=%d\n", threads)

		for _, path := range s.paths {
			for _, sh := range s.shapes {
				row, err := bench(o.count, "matmul "+sh.Name, "GFLOPS", func(b *testing.B) { model.BenchMatmul(b, path, sh) },
					func(r testing.BenchmarkResult) float64 { return r.Extra["GFLOPS"] })
				row.Notes = "path " + path
				if err := add(row, err); err != nil {
					return rep, err
				}
			}
		}

		// Training: tokens/s, and allocations per step from the same runs.
		var allocs, bytesPer []float64
		train, err := bench(o.count, "train "+r.LinearVariantMLP+" student", "tokens/s",
			func(b *testing.B) { model.BenchTrainStep(b, s.cfg, s.batch) },
			func(r testing.BenchmarkResult) float64 {
				allocs = append(allocs, float64(r.MemAllocs)/float64(r.N))
				bytesPer = append(bytesPer, float64(r.MemBytes)/float64(r.N))
				return r.Extra["tokens/s"]
			})
		train.Notes = fmt.Sprintf("%s, AdamW, %.0f ms/step, matmul %s", student,
			1e3*float64(s.batch*s.cfg.BlockSize)/train.Value, model.MatmulPath())
		if err := add(train, err); err != nil {
			return rep, err
		}
		if err := add(Row{Metric: "train step allocations", Value: median(allocs), Unit: "allocs/step", Runs: runsOf(allocs, o.count),
			Notes: fmt.Sprintf("after a warm-up step; %.0f B/step", median(bytesPer))}, nil); err != nil {
			return rep, err
		}

		// Decode with the KV cache, fake-quant and packed.
		m, err := model.New(s.cfg, 1)
		if err != nil {
			return rep, err
		}
		var decode [2]float64
		for i, packed := range []bool{false, true} {
			name, weights := "fake-quant", 0.0
			if packed {
				name = "packed ternary"
			}
			row, err := bench(o.count, "decode "+name+" (KV cache)", "tokens/s",
				func(b *testing.B) { model.BenchDecode(b, m, packed, s.decode) },
				func(r testing.BenchmarkResult) float64 { weights = r.Extra["weight-bytes"]; return r.Extra["tokens/s"] })
			row.Notes = fmt.Sprintf("%d-token prompt + %d tokens, %.2f MB weights", model.DecodePrompt, s.decode, weights/1e6)
			if err := add(row, err); err != nil {
				return rep, err
			}
			decode[i] = row.Value
		}
		if err := add(Row{Metric: "decode packed / fake-quant", Value: decode[1] / decode[0], Unit: "x"}, nil); err != nil {
			return rep, err
		}

		rerun, err := bench(o.count, fmt.Sprintf("cached rerun, %d-step workflow", s.wideStep), "ms",
			func(b *testing.B) { runnerbench.BenchCachedRerun(b, s.wideStep) },
			func(r testing.BenchmarkResult) float64 { return float64(r.NsPerOp()) / 1e6 })
		rerun.Notes = fmt.Sprintf("exec steps, all cached, fresh store, jobs %d", runnerbench.Jobs)
		if err := add(rerun, err); err != nil {
			return rep, err
		}

		bestTrain = max(bestTrain, train.Value)
		if o.torch != "" {
			rows, err := torchRows(o, threads, train.Value, progress)
			if err != nil {
				return rep, err
			}
			for _, row := range rows {
				if err := add(row, nil); err != nil {
					return rep, err
				}
			}
			bestTorch = max(bestTorch, rows[0].Value)
		}
	}
	if len(o.cpus) > 1 && bestTorch > 0 {
		rep.Rows = append(rep.Rows, Row{Metric: "train bitflow best / torch best", Value: bestTrain / bestTorch, Unit: "x",
			Threads: slices.Max(o.cpus), Notes: "best over the -cpu thread counts of each"})
	}
	return rep, nil
}

// bench runs f count times through testing.Benchmark and reports the median
// of value over the results.
func bench(count int, metric, unit string, f func(*testing.B), value func(testing.BenchmarkResult) float64) (Row, error) {
	row := Row{Metric: metric, Unit: unit}
	var vs []float64
	for range count {
		r := testing.Benchmark(f)
		if r.N == 0 {
			return row, fmt.Errorf("%s: the benchmark failed (run it with go test -bench for its message)", metric)
		}
		vs = append(vs, value(r))
	}
	row.Value, row.Runs = median(vs), runsOf(vs, count)
	return row, nil
}

func runsOf(vs []float64, count int) []float64 {
	if count == 1 {
		return nil
	}
	return vs
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// torchRows runs the PyTorch reference count times at the given thread
// count (OpenMP, OpenBLAS and MKL pools all pinned to it: Debian's torch
// calls OpenBLAS, whose own pool otherwise starts one thread per CPU under
// each OpenMP thread) and returns its training and decode rows and the
// ratio of bitflow's training tokens/s to its.
func torchRows(o options, threads int, bitflowTrain float64, progress io.Writer) ([]Row, error) {
	s := setup(o)
	r := s.cfg.Resolved()
	args := []string{o.torch, "--threads", strconv.Itoa(threads),
		"--n_layer", strconv.Itoa(r.NLayer), "--n_head", strconv.Itoa(r.NHead), "--n_embd", strconv.Itoa(r.NEmbd),
		"--block_size", strconv.Itoa(r.BlockSize), "--batch_size", strconv.Itoa(s.batch), "--vocab", strconv.Itoa(r.VocabSize),
		"--decode_tokens", strconv.Itoa(s.decode)}
	if o.short {
		args = append(args, "--steps", "2")
	}
	var train, decode []float64
	version := ""
	for range o.count {
		cmd := exec.Command(o.python, args...)
		n := strconv.Itoa(threads)
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+n, "OPENBLAS_NUM_THREADS="+n, "MKL_NUM_THREADS="+n)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("-torch: %s %s: %v\n%s", o.python, strings.Join(args, " "), err, out)
		}
		kv := lastFields(out)
		t, err1 := strconv.ParseFloat(kv["train_tokens_per_s"], 64)
		d, err2 := strconv.ParseFloat(kv["decode_tokens_per_s_no_kv_cache"], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("-torch: unexpected output:\n%s", out)
		}
		train, decode, version = append(train, t), append(decode, d), kv["torch"]
	}
	fmt.Fprintf(progress, "benchtable: %s %s\n", filepath.Base(o.torch), strings.Join(args[1:], " "))
	student := fmt.Sprintf("L%d H%d C%d T%d V%d B%d", r.NLayer, r.NHead, r.NEmbd, r.BlockSize, r.VocabSize, s.batch)
	rows := []Row{
		{Metric: "torch train bitlinear student", Value: median(train), Unit: "tokens/s", Runs: runsOf(train, o.count),
			Notes: fmt.Sprintf("PyTorch %s, %s, AdamW", version, student)},
		{Metric: "torch decode (no KV cache)", Value: median(decode), Unit: "tokens/s", Runs: runsOf(decode, o.count),
			Notes: fmt.Sprintf("PyTorch %s, recomputes the whole prefix per token", version)},
	}
	rows = append(rows, Row{Metric: "train bitflow / torch", Value: bitflowTrain / rows[0].Value, Unit: "x", Notes: "same threads"})
	return rows, nil
}

// lastFields parses the last non-empty line of the reference's output,
// "torch 2.x threads=2 ... train_tokens_per_s=N ...", into key=value pairs
// (and "torch" to its version).
func lastFields(out []byte) map[string]string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	kv := map[string]string{}
	f := strings.Fields(last)
	for i, w := range f {
		if k, v, ok := strings.Cut(w, "="); ok {
			kv[k] = v
		} else if w == "torch" && i+1 < len(f) {
			kv["torch"] = f[i+1]
		}
	}
	return kv
}

// cpuName is the processor's model name from /proc/cpuinfo, or GOARCH.
func cpuName() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

func printTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "bitflow benchmarks — %s (%d CPUs), %s %s/%s, matmul path %s, benchtime %s, median of %d\n",
		rep.CPU, rep.NumCPU, rep.GoVersion, rep.GOOS, rep.GOARCH, rep.MatmulPath, rep.BenchTime, rep.Count)
	if rep.Short {
		fmt.Fprintln(w, "-short: tiny model and shapes, not a measurement")
	}
	values, width := make([]string, len(rep.Rows)), len("value")
	for i, r := range rep.Rows {
		values[i] = format(r.Value)
		width = max(width, len(values[i]))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\t%*s\tunit\tthreads\tnotes\n", width, "value")
	for i, r := range rep.Rows {
		notes := r.Notes
		if len(r.Runs) > 1 && slices.Min(r.Runs) != slices.Max(r.Runs) {
			lo, hi := slices.Min(r.Runs), slices.Max(r.Runs)
			rng := "range " + format(lo) + "-" + format(hi)
			if notes == "" {
				notes = rng
			} else {
				notes += "; " + rng
			}
		}
		fmt.Fprintf(tw, "%s\t%*s\t%s\t%7d\t%s\n", r.Metric, width, values[i], r.Unit, r.Threads, notes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "measured in %.0f s\n", rep.Seconds)
	return err
}

// format prints v with about three significant digits, grouping thousands.
func format(v float64) string {
	switch {
	case v >= 1000:
		s := strconv.FormatFloat(v, 'f', 0, 64)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
