package steps

import (
	"fmt"
	"sort"
)

// Registry holds the kinds a runner knows.
type Registry struct {
	kinds map[string]Step
}

// NewRegistry returns a registry of the given kinds.
func NewRegistry(kinds ...Step) *Registry {
	r := &Registry{kinds: map[string]Step{}}
	for _, k := range kinds {
		r.Add(k)
	}
	return r
}

// Add registers a kind; registering a name twice is a programming error.
func (r *Registry) Add(k Step) {
	if _, dup := r.kinds[k.Kind()]; dup {
		panic(fmt.Sprintf("steps: kind %q registered twice", k.Kind()))
	}
	r.kinds[k.Kind()] = k
}

// Get returns the kind called name.
func (r *Registry) Get(name string) (Step, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names lists the kinds, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
