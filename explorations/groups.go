package explorations

import (
	"fmt"
	"strings"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// Keys with a meaning in the grammar.
const (
	keyParameterGroups  = "parameter_groups"
	keyStaticGroups     = "named_static_groups"
	keyVariationGroups  = "named_variation_groups"
	keyNamedGroup       = "named_group"
	keyGroupStatic      = "named_group_static"
	keyGroupVariations  = "named_group_variations"
	keyGroupAlternates  = "named_group_alternates"
	keyGroupSettings    = "named_group_settings"
	keyCommonGroup      = "common_group"
	keyRunNameOverride  = "run_name_override"
	keyWorkflow         = "workflow"
	keyReport           = "report"
	runNameVar          = "${RUN_NAME}"
	defaultValue        = "default"
	staticKind          = "static"
	variationKind       = "variation"
	maxNestedGroupDepth = 64
)

// state is a config on its way through expansion, with what named groups
// have contributed to its name: the fragments (static group names, in
// order) and the keys static groups hide from the name. The reference
// runner carries both inside the dict as _named_group_* keys.
type state struct {
	cfg    *dict
	frags  []string
	hidden []string
}

// groupRef is a use of a named group, for lookups, cycles and messages.
type groupRef struct {
	kind, name string
	pos        yamlnode.Pos
	key        string
}

// registry reads named_static_groups and named_variation_groups.
func (x *expander) registry(e *entry, kind string) (map[string]*dict, error) {
	groups := map[string]*dict{}
	if e == nil || e.val == nil {
		return groups, nil
	}
	for _, item := range asList(e.val) {
		d, ok := item.(*dict)
		if !ok {
			return nil, errAt(x.file, e.pos, e.key, "each entry must be a mapping with a named_group, not %s", kindOf(item))
		}
		body, ne := d.pop(keyNamedGroup)
		if ne == nil || !pyTruthy(ne.val) {
			return nil, errAt(x.file, d.pos, e.key, "each %s group needs a named_group name", kind)
		}
		name, ok := ne.val.(string)
		if !ok {
			return nil, errAt(x.file, ne.pos, keyNamedGroup, "a group name must be a string, not %s", kindOf(ne.val))
		}
		if _, dup := groups[name]; dup {
			return nil, errAt(x.file, ne.pos, keyNamedGroup, "duplicate %s group %q", kind, name)
		}
		groups[name] = body
	}
	return groups, nil
}

// refs reads a named_group_static/variations/alternates list.
func (x *expander) refs(e *entry, kind string) ([]groupRef, error) {
	if e == nil || e.val == nil {
		return nil, nil
	}
	var out []groupRef
	for _, v := range asList(e.val) {
		name, ok := v.(string)
		if !ok {
			return nil, errAt(x.file, e.pos, e.key, "group names must be strings, not %s", kindOf(v))
		}
		out = append(out, groupRef{kind: kind, name: name, pos: e.pos, key: e.key})
	}
	return out, nil
}

// expandNamed is the reference's expand_named_config: it applies a config's
// named_group_settings, then its alternates (one branch per group, each
// expanded again) or else its static groups and then its variation groups
// (a cartesian product of their expansions). Lists and parameter_groups are
// left for later. path holds the groups being resolved, to catch cycles.
func (x *expander) expandNamed(s state, path []groupRef) ([]state, error) {
	base := s.cfg
	base, settings := base.pop(keyGroupSettings)
	if settings != nil && settings.val != nil {
		sd, ok := settings.val.(*dict)
		if !ok {
			return nil, errAt(x.file, settings.pos, settings.key, "must be a mapping, not %s", kindOf(settings.val))
		}
		var err error
		if base, err = x.merge(base, sd, keyGroupSettings); err != nil {
			return nil, err
		}
	}
	base, altE := base.pop(keyGroupAlternates)
	base, staticE := base.pop(keyGroupStatic)
	base, varE := base.pop(keyGroupVariations)
	alts, err := x.refs(altE, "")
	if err != nil {
		return nil, err
	}
	statics, err := x.refs(staticE, staticKind)
	if err != nil {
		return nil, err
	}
	variations, err := x.refs(varE, variationKind)
	if err != nil {
		return nil, err
	}
	cur := state{base, s.frags, s.hidden}
	if len(alts) == 0 {
		return x.product(cur, statics, variations, path)
	}
	var out []state
	for _, ref := range alts {
		resolved, err := x.resolve(ref, path)
		if err != nil {
			return nil, err
		}
		for _, r := range resolved {
			merged, err := x.merge(base, r.cfg, fmt.Sprintf("named group %q", ref.name))
			if err != nil {
				return nil, err
			}
			// The branch's own fragments come before the parent's.
			branch := state{merged, concat(r.frags, s.frags), union(r.hidden, s.hidden)}
			more, err := x.product(branch, statics, variations, path)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// product merges each static group into cur, then takes the cartesian
// product with each variation group's expansions, in order.
func (x *expander) product(cur state, statics, variations []groupRef, path []groupRef) ([]state, error) {
	list := []state{cur}
	for _, ref := range append(append([]groupRef(nil), statics...), variations...) {
		resolved, err := x.resolve(ref, path)
		if err != nil {
			return nil, err
		}
		if len(resolved) == 0 {
			resolved = []state{{cfg: &dict{}}}
		}
		next := make([]state, 0, len(list)*len(resolved))
		for _, c := range list {
			for _, r := range resolved {
				merged, err := x.merge(c.cfg, r.cfg, fmt.Sprintf("named group %q", ref.name))
				if err != nil {
					return nil, err
				}
				next = append(next, state{merged, concat(c.frags, r.frags), union(c.hidden, r.hidden)})
			}
		}
		if err := x.spend(len(next), ref.pos, ref.key); err != nil {
			return nil, err
		}
		list = next
	}
	return list, nil
}

// resolve expands one named group. A static group must come out as exactly
// one config; it adds its name as a fragment and hides its keys from names.
// An alternate (kind "") is whichever kind of group has the name, static
// first.
func (x *expander) resolve(ref groupRef, path []groupRef) ([]state, error) {
	kind := ref.kind
	if kind == "" {
		kind = variationKind
		if _, ok := x.static[ref.name]; ok {
			kind = staticKind
		}
	}
	groups := x.variation
	if kind == staticKind {
		groups = x.static
	}
	body, ok := groups[ref.name]
	if !ok {
		what := kind + " "
		if ref.kind == "" {
			what = ""
		}
		return nil, errAt(x.file, ref.pos, ref.key, "unknown %snamed group %q", what, ref.name)
	}
	for i, p := range path {
		if p.kind == kind && p.name == ref.name {
			var names []string
			for _, q := range path[i:] {
				names = append(names, q.name)
			}
			return nil, errAt(x.file, ref.pos, ref.key, "cycle between named groups: %s -> %s",
				strings.Join(names, " -> "), ref.name)
		}
	}
	if len(path) >= maxNestedGroupDepth {
		return nil, errAt(x.file, ref.pos, ref.key, "named groups nested more than %d deep", maxNestedGroupDepth)
	}
	inner := append(append([]groupRef(nil), path...), groupRef{kind: kind, name: ref.name, pos: ref.pos, key: ref.key})
	resolved, err := x.expandNamed(state{cfg: body}, inner)
	if err != nil {
		return nil, err
	}
	if kind != staticKind {
		return resolved, nil
	}
	if len(resolved) != 1 {
		return nil, errAt(x.file, ref.pos, ref.key, "static named group %q expands to %d configurations; a static group must expand to exactly one",
			ref.name, len(resolved))
	}
	r := resolved[0]
	var keys []string
	for _, e := range r.cfg.entries {
		if e.key != keyParameterGroups && !strings.HasPrefix(e.key, "_") {
			keys = append(keys, e.key)
		}
	}
	return []state{{r.cfg, concat(r.frags, []string{ref.name}), union(r.hidden, keys)}}, nil
}

// concat returns a new slice holding a then b.
func concat(a, b []string) []string {
	return append(append(make([]string, 0, len(a)+len(b)), a...), b...)
}

// union returns a then the members of b not in a.
func union(a, b []string) []string {
	out := append(make([]string, 0, len(a)+len(b)), a...)
	for _, k := range b {
		if !contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
