package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dominikbraun/graph"
)

// DAG returns the step graph, with an edge from each step to every step that
// depends on it (through inputs or needs). References to unknown steps are
// left out; Load has reported them.
func (w *Workflow) DAG() graph.Graph[string, *Step] {
	g := graph.New(func(s *Step) string { return s.Name }, graph.Directed())
	for _, s := range w.Steps {
		_ = g.AddVertex(s)
	}
	for _, s := range w.Steps {
		for _, up := range s.Upstream() {
			if w.byName[up] == nil || up == s.Name {
				continue
			}
			if err := g.AddEdge(up, s.Name); err != nil && !errors.Is(err, graph.ErrEdgeAlreadyExists) {
				panic(fmt.Sprintf("workflows: adding edge %s -> %s: %v", up, s.Name, err))
			}
		}
	}
	return g
}

// checkCycles reports each cycle once, naming every member, in the
// direction of dependency: `cycle: a -> b -> a` means a needs b and b needs a.
func checkCycles(w *Workflow, l *errorList) {
	g := w.DAG()
	sccs, err := graph.StronglyConnectedComponents(g)
	if err != nil {
		panic(fmt.Sprintf("workflows: strongly connected components: %v", err))
	}
	order := map[string]int{}
	for i, s := range w.Steps {
		order[s.Name] = i
	}
	var found [][]string
	for _, c := range sccs {
		if len(c) < 2 {
			continue // self references are reported where they are written
		}
		slices.SortFunc(c, func(a, b string) int { return order[a] - order[b] })
		found = append(found, c)
	}
	slices.SortFunc(found, func(a, b []string) int { return order[a[0]] - order[b[0]] })
	for _, c := range found {
		first := w.byName[c[0]]
		if path := cyclePath(w, c); path != nil {
			l.add(first.Pos, "cycle: %s (each step needs the next)", strings.Join(path, " -> "))
		} else {
			l.add(first.Pos, "cycle among steps %s: each of them needs another of them", strings.Join(c, ", "))
		}
	}
}

// cyclePath looks for a closed walk in dependency direction that visits every
// member of the component exactly once; nil if there is none (then the
// members are listed instead). The search is bounded, as components are small
// in practice and this only shapes an error message.
func cyclePath(w *Workflow, members []string) []string {
	in := map[string]bool{}
	for _, m := range members {
		in[m] = true
	}
	deps := func(name string) []string {
		var out []string
		for _, u := range w.byName[name].Upstream() {
			if in[u] {
				out = append(out, u)
			}
		}
		return out
	}
	start := members[0]
	path := []string{start}
	used := map[string]bool{start: true}
	budget := 100000
	var dfs func(cur string) bool
	dfs = func(cur string) bool {
		if budget--; budget < 0 {
			return false
		}
		for _, next := range deps(cur) {
			if next == start && len(path) == len(members) {
				path = append(path, start)
				return true
			}
			if used[next] {
				continue
			}
			used[next] = true
			path = append(path, next)
			if dfs(next) {
				return true
			}
			path = path[:len(path)-1]
			used[next] = false
		}
		return false
	}
	if dfs(start) {
		return path
	}
	return nil
}
