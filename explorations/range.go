package explorations

import (
	"math"
)

// expandRange turns {range: {start, end, step}} into its list of values, as
// the reference's expand_range does: an integer start gives Python's
// range(start, end + 1, step) (step 1 by default); any other start gives
// start + i*step for i in 0..round((end - start) / step) (step 0.1 by
// default), rounding half to even as Python's round does.
func (x *expander) expandRange(at entry, spec *dict) ([]any, error) {
	fail := func(format string, args ...any) ([]any, error) {
		return nil, errAt(x.file, at.pos, at.key, "range: "+format, args...)
	}
	rv, _ := spec.get("range")
	r, ok := rv.(*dict)
	if !ok {
		return fail("needs a mapping with start and end, not %s", kindOf(rv))
	}
	start, ok := r.get("start")
	if !ok {
		return fail("start is missing")
	}
	end, ok := r.get("end")
	if !ok {
		return fail("end is missing")
	}
	step, hasStep := r.get("step")

	if s, ok := pyInt(start); ok {
		if !hasStep {
			step = int64(1)
		}
		e, ok1 := pyInt(end)
		st, ok2 := pyInt(step)
		if !ok1 || !ok2 {
			return fail("start is an integer, so end and step must be integers too (end %s, step %s)", pyRepr(end), pyRepr(step))
		}
		if st == 0 {
			return fail("step must not be zero")
		}
		if e == math.MaxInt64 {
			return fail("end %d is out of range", e)
		}
		stop := e + 1
		var n int64
		// Python's range length: ceil((stop - start) / step) when positive.
		// Go's float division is exact enough here since the result is
		// bounded by maxPoints before it is used.
		switch {
		case st > 0 && stop > s:
			n = int64(math.Ceil((float64(stop) - float64(s)) / float64(st)))
		case st < 0 && stop < s:
			n = int64(math.Ceil((float64(s) - float64(stop)) / float64(-st)))
		}
		if n > maxPoints {
			return fail("%d values exceed the limit of %d points", n, maxPoints)
		}
		out := make([]any, 0, n)
		for v := s; (st > 0 && v < stop) || (st < 0 && v > stop); v += st {
			out = append(out, v)
			if v > 0 && st > math.MaxInt64-v || v < 0 && st < math.MinInt64-v {
				break // the next value would overflow, so it is past stop
			}
		}
		return out, nil
	}

	if !hasStep {
		step = 0.1
	}
	s, ok := start.(float64)
	if !ok {
		return fail("start must be a number, not %s", kindOf(start))
	}
	e, ok1 := pyFloat(end)
	st, ok2 := pyFloat(step)
	if !ok1 || !ok2 {
		return fail("end and step must be numbers (end %s, step %s)", pyRepr(end), pyRepr(step))
	}
	if st == 0 {
		return fail("step must not be zero")
	}
	q := math.RoundToEven((e - s) / st)
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return fail("cannot count the values from %s to %s by %s", pyRepr(start), pyRepr(end), pyRepr(step))
	}
	if q+1 > maxPoints {
		return fail("%.0f values exceed the limit of %d points", q+1, maxPoints)
	}
	n := int(q) + 1
	if n < 0 {
		n = 0
	}
	out := make([]any, n)
	stepInt, stepIsInt := pyInt(step)
	for i := range out {
		if stepIsInt {
			// Python computes i*step as an int, then adds it to the float.
			out[i] = s + float64(int64(i)*stepInt)
		} else {
			out[i] = s + float64(i)*st
		}
	}
	return out, nil
}

// pyInt reports whether v is a Python int (bools included) and its value.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return x, true
	}
	return 0, false
}

// pyFloat converts a Python int or float to float64.
func pyFloat(v any) (float64, bool) {
	if f, ok := v.(float64); ok {
		return f, true
	}
	if i, ok := pyInt(v); ok {
		return float64(i), true
	}
	return 0, false
}
