package explorations

import (
	"strings"
)

// config expands one config into points (the reference's
// generate_combinations followed by its run naming).
func (x *expander) config(cfg *dict, stem string) ([]Point, error) {
	cfg, staticE := cfg.pop(keyStaticGroups)
	cfg, varE := cfg.pop(keyVariationGroups)
	var err error
	if x.static, err = x.registry(staticE, staticKind); err != nil {
		return nil, err
	}
	if x.variation, err = x.registry(varE, variationKind); err != nil {
		return nil, err
	}
	cfg, commonE := cfg.pop(keyCommonGroup)
	common, err := x.common(commonE)
	if err != nil {
		return nil, err
	}
	var points []Point
	emit := func(c combo) error {
		p, err := x.point(common, c, stem)
		if err != nil {
			return err
		}
		points = append(points, p)
		if len(points) > maxPoints {
			return errAt(x.file, cfg.pos, "", "the exploration expands to more than %d points", maxPoints)
		}
		return nil
	}
	if err := x.recurse(state{cfg: cfg}, 0, emit); err != nil {
		return nil, err
	}
	return points, nil
}

// common reads common_group: each value must come to a single option, and
// "default" leaves the key out altogether.
func (x *expander) common(e *entry) (*dict, error) {
	out := &dict{}
	if e == nil || e.val == nil {
		return out, nil
	}
	d, ok := e.val.(*dict)
	if !ok {
		return nil, errAt(x.file, e.pos, e.key, "must be a mapping of parameter names to values, not %s", kindOf(e.val))
	}
	out.pos = d.pos
	for _, ce := range d.entries {
		if err := x.notReserved(ce); err != nil {
			return nil, err
		}
		v := ce.val
		if rd, ok := v.(*dict); ok {
			if _, ok := rd.get("range"); ok {
				var err error
				if v, err = x.expandRange(ce, rd); err != nil {
					return nil, err
				}
			}
		}
		if l, ok := v.([]any); ok {
			if len(l) != 1 {
				return nil, errAt(x.file, ce.pos, ce.key, "values in common_group must be a single option, not %d", len(l))
			}
			v = l[0]
		}
		if _, ok := v.(*dict); ok {
			return nil, errAt(x.file, ce.pos, ce.key, "values in common_group cannot be ranges, conditions or other mappings")
		}
		if v == defaultValue {
			continue
		}
		out.set(ce.key, ce.pos, v)
	}
	return out, nil
}

// notReserved rejects bitflow's reserved keys anywhere but the top of a config.
func (x *expander) notReserved(e entry) error {
	if e.key == keyWorkflow || e.key == keyReport {
		return errAt(x.file, e.pos, e.key, "is reserved for bitflow and set once at the top level of a config, never in groups")
	}
	return nil
}

// point joins common_group and a combination (common keys first; the
// combination must not change a common value) and names the result.
func (x *expander) point(common *dict, c combo, stem string) (Point, error) {
	merged := common.clone()
	for _, e := range c.params.entries {
		if err := x.notReserved(e); err != nil {
			return Point{}, err
		}
		if ce := merged.entry(e.key); ce != nil && !pyEqual(ce.val, e.val) {
			return Point{}, errAt(x.file, e.pos, e.key, "common_group sets %s (at %s), which must not be overridden with %s",
				pyRepr(ce.val), ce.pos, pyRepr(e.val))
		}
		merged.set(e.key, e.pos, e.val)
	}
	return Point{Name: runName(stem, merged, common, c), Params: exportDict(merged)}, nil
}

// runName is the reference's format_run_name with its default options: the
// stem, then each static group's name once, then str(value) of every key
// except common_group's, those static groups hide, those starting with "_"
// and string values holding ${RUN_NAME}. run_name_override replaces it all.
func runName(stem string, params, common *dict, c combo) string {
	if v, ok := params.get(keyRunNameOverride); ok && v != nil && pyStr(v) != "" {
		return pyStr(v)
	}
	var parts []string
	for _, f := range c.frags {
		if !contains(parts, f) {
			parts = append(parts, f)
		}
	}
	for _, e := range params.entries {
		if common.index(e.key) >= 0 || contains(c.hidden, e.key) || strings.HasPrefix(e.key, "_") {
			continue
		}
		if s, ok := e.val.(string); ok && strings.Contains(s, runNameVar) {
			continue
		}
		parts = append(parts, pyStr(e.val))
	}
	if len(parts) == 0 {
		return stem
	}
	return stem + "-" + strings.Join(parts, "-")
}
