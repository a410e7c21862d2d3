package dryrun

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Peak sources: how a phase's peak resident memory was measured.
const (
	// PeakReset: the kernel's high-water mark VmHWM of /proc/self/status,
	// reset to the current RSS before the phase by writing "5" to
	// /proc/self/clear_refs: the peak of exactly this phase.
	PeakReset = "proc_vmhwm_reset"
	// PeakLifetime: VmHWM could not be reset, so the figure is the peak
	// since the process started, an upper bound for the phase.
	PeakLifetime = "proc_vmhwm_lifetime"
	// PeakGoRuntime: no /proc; the Go runtime's memory obtained from the
	// OS (runtime.MemStats.Sys) after the phase, an upper bound of the Go
	// heap's share of the peak, blind to memory outside the Go heap.
	PeakGoRuntime = "go_runtime_sys"
)

// Memory is what a phase measured of the process's memory.
type Memory struct {
	// RSSBefore is the resident set size when the phase started (after a
	// full GC that returned free memory to the OS), RSSAfter when it ended,
	// and Peak the most resident memory during the phase; 0 when unknown.
	RSSBefore int64  `json:"rss_before_bytes"`
	Peak      int64  `json:"peak_rss_bytes"`
	RSSAfter  int64  `json:"rss_after_bytes"`
	Source    string `json:"peak_source"`
	// GoHeap is the Go heap in use after the phase (runtime.MemStats).
	GoHeap int64 `json:"go_heap_inuse_bytes"`
}

// meter measures one phase. The figures are the whole process's: a run
// with other steps in the same process counts their memory too.
type meter struct {
	m Memory
}

// startPhase collects garbage, returns free memory to the OS (so the
// figures are those of live data) and resets the high-water mark.
func startPhase() *meter {
	runtime.GC()
	debug.FreeOSMemory()
	mt := &meter{}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		mt.m.Source = PeakGoRuntime
		return mt
	}
	mt.m.RSSBefore = statusBytes(status, "VmRSS")
	mt.m.Source = PeakLifetime
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil {
		mt.m.Source = PeakReset
	}
	return mt
}

// end returns the phase's figures.
func (mt *meter) end() Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mt.m.GoHeap = int64(ms.HeapInuse)
	if mt.m.Source == PeakGoRuntime {
		mt.m.Peak = int64(ms.Sys)
		return mt.m
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		mt.m.Source, mt.m.Peak = PeakGoRuntime, int64(ms.Sys)
		return mt.m
	}
	mt.m.Peak = statusBytes(status, "VmHWM")
	mt.m.RSSAfter = statusBytes(status, "VmRSS")
	return mt.m
}

// statusBytes returns the field name of /proc/self/status ("VmRSS:  123
// kB") in bytes, 0 if absent.
func statusBytes(status []byte, name string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	prefix := []byte(name + ":")
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		f := bytes.Fields(line[len(prefix):])
		if len(f) == 0 {
			return 0
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			v *= 1024
		}
		return v
	}
	return 0
}

// gib formats bytes in GiB for messages.
func gib(b int64) string { return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30)) }
