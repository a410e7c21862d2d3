package explorations

// merge returns base with add's keys merged in, as the reference runner's
// _merge_config_dicts does: a key present in both must have equal values
// (Python ==) and keeps base's place but takes add's value; new keys go last;
// parameter_groups lists combine instead (see mergeGroups). what names the
// merge in the conflict message.
func (x *expander) merge(base, add *dict, what string) (*dict, error) {
	out := base.clone()
	for _, a := range add.entries {
		if a.key == keyParameterGroups {
			var cur any
			if e := out.entry(a.key); e != nil {
				cur = e.val
			}
			groups, err := x.mergeGroups(cur, a.val, a)
			if err != nil {
				return nil, err
			}
			if len(groups) == 0 {
				out, _ = out.pop(a.key)
			} else {
				out.set(a.key, a.pos, groups)
			}
			continue
		}
		if e := out.entry(a.key); e != nil && !pyEqual(e.val, a.val) {
			return nil, errAt(x.file, a.pos, a.key, "conflicting values when merging %s: %s (at %s) vs %s",
				what, pyRepr(e.val), e.pos, pyRepr(a.val))
		}
		out.set(a.key, a.pos, a.val)
	}
	return out, nil
}

// mergeGroups combines two parameter_groups values: when both have groups,
// every existing group gets the new ones as nested parameter_groups (so the
// result is their cartesian product once expanded).
func (x *expander) mergeGroups(existing, added any, at entry) ([]any, error) {
	var have, add []any
	if existing != nil {
		have = asList(existing)
	}
	if added != nil {
		add = asList(added)
	}
	if len(have) == 0 {
		return append([]any(nil), add...), nil
	}
	if len(add) == 0 {
		return append([]any(nil), have...), nil
	}
	out := make([]any, 0, len(have))
	for _, g := range have {
		gd, ok := g.(*dict)
		if !ok {
			return nil, errAt(x.file, at.pos, at.key, "each parameter group must be a mapping, not %s", kindOf(g))
		}
		nested, _ := gd.get(keyParameterGroups)
		merged, err := x.mergeGroups(nested, add, at)
		if err != nil {
			return nil, err
		}
		gc := gd.clone()
		gc.set(keyParameterGroups, at.pos, merged)
		out = append(out, gc)
	}
	return out, nil
}

// asList is the reference's "v if isinstance(v, list) else [v]".
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// kindOf names a value's type for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case *dict:
		return "a mapping"
	}
	return "a value"
}
