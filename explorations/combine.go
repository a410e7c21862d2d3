package explorations

import (
	"strings"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// combo is one combination of a config: its keys in order, with what the
// named groups contributed to its name.
type combo struct {
	params *dict
	frags  []string
	hidden []string
}

// recurse is the reference's generate_combinations.recurse: expand the
// named groups; a result with parameter_groups is merged (without them)
// into each group in turn and recursed into; any other result becomes the
// cartesian product of its values. Combinations go to emit in order.
func (x *expander) recurse(s state, depth int, emit func(combo) error) error {
	if err := x.spend(1, s.cfg.pos, ""); err != nil {
		return err
	}
	expanded, err := x.expandNamed(s, nil)
	if err != nil {
		return err
	}
	for _, ex := range expanded {
		ge := ex.cfg.entry(keyParameterGroups)
		if ge == nil || !pyTruthy(ge.val) {
			if err := x.combine(ex, emit); err != nil {
				return err
			}
			continue
		}
		// A named group that pulls itself in through parameter_groups
		// recurses forever (the reference dies of RecursionError); no real
		// file nests anywhere near this deep.
		if depth >= maxNestedGroupDepth {
			return errAt(x.file, ge.pos, ge.key, "parameter_groups nested more than %d deep (does a named group include itself through parameter_groups?)", maxNestedGroupDepth)
		}
		parent, _ := ex.cfg.pop(keyParameterGroups)
		for _, g := range asList(ge.val) {
			gd, ok := g.(*dict)
			if !ok {
				return errAt(x.file, ge.pos, ge.key, "each parameter group must be a mapping, not %s", kindOf(g))
			}
			merged, err := x.merge(parent, gd, keyParameterGroups)
			if err != nil {
				return err
			}
			if err := x.recurse(state{merged, ex.frags, ex.hidden}, depth+1, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// axis is one key of the cartesian product and its values.
type axis struct {
	key    string
	pos    yamlnode.Pos
	values []any
}

// combine takes the cartesian product of a config's keys in order (the last
// varies fastest), then applies the conditional keys in order, then drops
// the keys whose value is "default".
func (x *expander) combine(s state, emit func(combo) error) error {
	var axes []axis
	var conds []entry
	size := 1
	for _, e := range s.cfg.entries {
		if e.key == keyParameterGroups {
			continue
		}
		v := e.val
		if d, ok := v.(*dict); ok {
			if _, ok := d.get("conditions"); ok {
				conds = append(conds, e)
				continue
			}
			if _, ok := d.get("range"); ok {
				var err error
				if v, err = x.expandRange(e, d); err != nil {
					return err
				}
			}
		}
		values := asList(v)
		axes = append(axes, axis{e.key, e.pos, values})
		if size > 0 && len(values) > maxPoints/size {
			return errAt(x.file, e.pos, e.key, "the combinations exceed %d points", maxPoints)
		}
		size *= len(values)
	}
	if size == 0 {
		return nil
	}
	idx := make([]int, len(axes))
	for {
		c := &dict{pos: s.cfg.pos, entries: make([]entry, len(axes), len(axes)+len(conds))}
		for i, a := range axes {
			c.entries[i] = entry{a.key, a.pos, a.values[idx[i]]}
		}
		valid, err := x.applyConditionals(c, conds)
		if err != nil {
			return err
		}
		for _, v := range valid {
			if err := emit(combo{dropDefaults(v), s.frags, s.hidden}); err != nil {
				return err
			}
		}
		// Advance the odometer, last axis fastest.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(axes[i].values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// applyConditionals adds each conditional key to the combinations whose
// values match its conditions, one combination per option; the others are
// kept without the key.
func (x *expander) applyConditionals(c *dict, conds []entry) ([]*dict, error) {
	valid := []*dict{c}
	for _, ce := range conds {
		spec := ce.val.(*dict)
		raw, _ := spec.get("conditions")
		x.noteLegacy(spec, raw)
		var options []any
		if o, ok := spec.get("options"); ok {
			options = asList(o)
		}
		next := make([]*dict, 0, len(valid))
		for _, v := range valid {
			if !conditionsMatch(v, raw) {
				next = append(next, v)
				continue
			}
			for _, opt := range options {
				nv := v.clone()
				nv.set(ce.key, ce.pos, opt)
				next = append(next, nv)
			}
		}
		if len(next) > maxPoints {
			return nil, errAt(x.file, ce.pos, ce.key, "the options multiply past %d points", maxPoints)
		}
		valid = next
	}
	return valid, nil
}

// conditionsMatch: a mapping holds when every key equals its value (a
// missing key reads as null); a list holds when any of its mappings does.
func conditionsMatch(c *dict, raw any) bool {
	all := func(d *dict) bool {
		for _, e := range d.entries {
			v, _ := c.get(e.key)
			if !pyEqual(v, e.val) {
				return false
			}
		}
		return true
	}
	switch r := raw.(type) {
	case *dict:
		return all(r)
	case []any:
		for _, item := range r {
			if d, ok := item.(*dict); ok && all(d) {
				return true
			}
		}
	}
	return false
}

// noteLegacy records the legacy list-of-pairs conditions form, which the
// reference runner silently never matches.
func (x *expander) noteLegacy(spec *dict, raw any) {
	list, ok := raw.([]any)
	if !ok {
		return
	}
	for _, item := range list {
		if _, ok := item.(*dict); ok {
			continue
		}
		e := spec.entry("conditions")
		if x.legacySeen[e.pos] {
			return
		}
		x.legacySeen[e.pos] = true
		hint := "a mapping {key: value}"
		if pair, ok := item.([]any); ok && len(pair) == 2 {
			if k, ok := pair[0].(string); ok {
				hint = "{" + k + ": " + yamlScalar(pair[1]) + "}"
			}
		}
		x.defects = append(x.defects, errAt(x.file, e.pos, e.key,
			"the legacy form %s never matches (the reference runner ignores it); write %s",
			pyRepr(item), hint))
		return
	}
}

// dropDefaults removes the keys whose value is the string "default", so the
// workflow's own default applies.
func dropDefaults(c *dict) *dict {
	for _, e := range c.entries {
		if e.val == defaultValue {
			out := &dict{pos: c.pos}
			for _, e := range c.entries {
				if e.val != defaultValue {
					out.entries = append(out.entries, e)
				}
			}
			return out
		}
	}
	return c
}

// yamlScalar writes a value for a hint in YAML's spelling.
func yamlScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case string:
		var b strings.Builder
		writeJSONString(&b, x)
		return b.String()
	}
	return pyRepr(v)
}
