package runner

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// historyDepth bounds how many earlier runs are searched for a step's last
// manifest, so that explaining a miss stays fast in a store with many runs.
const historyDepth = 500

// history finds the manifest a step had the last time it produced a result,
// to explain why it misses the cache now. It reads the store lazily: a run
// with no misses never looks.
type history struct {
	s        *store.Store
	workflow string
	once     sync.Once
	ids      map[string][]string // step name -> action IDs, newest first
}

func newHistory(s *store.Store, workflow string) *history {
	return &history{s: s, workflow: workflow}
}

func (h *history) load() {
	h.ids = map[string][]string{}
	runIDs, err := h.s.RunIDs()
	if err != nil {
		return
	}
	for i, id := range runIDs {
		if i >= historyDepth {
			break
		}
		rec, err := h.s.ReadRun(id)
		if err != nil || rec.Workflow != h.workflow {
			continue
		}
		for _, st := range rec.Steps {
			if st.ActionID != "" {
				h.ids[st.Name] = append(h.ids[st.Name], st.ActionID)
			}
		}
	}
}

// previous returns the manifest of the newest result recorded for a step
// of this workflow.
func (h *history) previous(step string) (string, bool) {
	m, _, ok := h.previousRecord(step)
	return m, ok
}

// previousRecord is previous with the result's ActionID.
func (h *history) previousRecord(step string) (manifest, actionID string, ok bool) {
	h.once.Do(h.load)
	for _, id := range h.ids[step] {
		if rec, err := h.s.ReadAction(id); err == nil {
			return rec.Manifest, id, true
		}
	}
	return "", "", false
}

// reason explains a miss in one line.
func (h *history) reason(step, manifest string) string {
	prev, ok := h.previous(step)
	if !ok {
		return "no cached result"
	}
	changes := DiffManifests(prev, manifest)
	if len(changes) == 0 {
		return "no cached result (the earlier result was removed)"
	}
	parts := make([]string, 0, 3)
	for i, c := range changes {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(changes)-3))
			break
		}
		parts = append(parts, c.String())
	}
	return strings.Join(parts, "; ")
}

// Change is one difference between two manifests.
type Change struct {
	What string // "param lr", "input traces", "kind", "command", "env HOME", "file a.txt"
	Old  string // "" if added
	New  string // "" if removed
}

// String shows a change the way `bitflow why` prints it.
func (c Change) String() string {
	switch {
	case c.Old == "":
		return fmt.Sprintf("%s added (%s)", c.What, shorten(c.New))
	case c.New == "":
		return fmt.Sprintf("%s removed (was %s)", c.What, shorten(c.Old))
	case c.What == "command":
		return "command " + textChange(c.Old, c.New)
	}
	return fmt.Sprintf("%s %s -> %s", c.What, shorten(c.Old), shorten(c.New))
}

// textChange shows where two long texts differ: the differing middle with a
// little context, e.g. `...echo hello, wo... -> ...echo bonjour, wo...`.
func textChange(a, b string) string {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	const ctx = 12
	clip := func(t string) string {
		from, to := max(p-ctx, 0), min(len(t)-s+ctx, len(t))
		out := t[from:to]
		if len(out) > 60 {
			out = out[:57] + "..."
		}
		if from > 0 {
			out = "..." + out
		}
		if to < len(t) {
			out += "..."
		}
		return strings.ReplaceAll(out, "\n", `\n`)
	}
	return clip(a) + " -> " + clip(b)
}

// shorten abbreviates digests and long values for one-line messages.
func shorten(v string) string {
	if i := strings.Index(v, "sha256:"); i >= 0 && len(v) >= i+7+12 {
		v = v[:i] + "sha256:" + v[i+7:i+7+12]
	}
	if len(v) > 60 {
		v = v[:57] + "..."
	}
	return v
}

// DiffManifests lists what changed from old to new, in manifest order.
func DiffManifests(old, new string) []Change {
	o, oOrder := parseManifest(old)
	n, nOrder := parseManifest(new)
	var out []Change
	for _, k := range nOrder {
		if ov, ok := o[k]; !ok {
			out = append(out, Change{What: k, New: n[k]})
		} else if ov != n[k] {
			out = append(out, Change{What: k, Old: ov, New: n[k]})
		}
	}
	for _, k := range oOrder {
		if _, ok := n[k]; !ok {
			out = append(out, Change{What: k, Old: o[k]})
		}
	}
	return out
}

// parseManifest splits manifest lines into "what" -> value: `param lr 0.1`
// is "param lr" -> "0.1"; `kind exec 1` is "kind" -> "exec 1".
func parseManifest(m string) (map[string]string, []string) {
	vals := map[string]string{}
	var order []string
	for _, line := range strings.Split(strings.TrimRight(m, "\n"), "\n") {
		if line == manifestHeader {
			continue
		}
		typ, rest, _ := strings.Cut(line, " ")
		what, val := typ, rest
		switch typ {
		case "param", "input", "env", "file":
			name, v, _ := strings.Cut(rest, " ")
			what, val = typ+" "+name, v
		}
		if typ == "command" {
			var text string
			if json.Unmarshal([]byte(val), &text) == nil {
				val = text
			}
		}
		if _, dup := vals[what]; !dup {
			order = append(order, what)
		}
		vals[what] = val
	}
	return vals, order
}
