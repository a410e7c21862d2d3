package explorations

import "github.com/bitflow-dev/bitflow/internal/yamlnode"

// dict is the working form of a YAML mapping during expansion: ordered like
// a Python dict (a replaced key keeps its place, a new key goes last), with
// the position of every key so that errors can point at it.
//
// Values held in a dict, and the dicts themselves once shared, are never
// modified in place: every change goes through clone first. That stands in
// for the reference runner's deepcopy calls.
//
// Values are nil, bool, int64, float64, string, []any and *dict.
type dict struct {
	pos     yamlnode.Pos
	entries []entry
}

type entry struct {
	key string
	pos yamlnode.Pos
	val any
}

func (d *dict) index(key string) int {
	for i := range d.entries {
		if d.entries[i].key == key {
			return i
		}
	}
	return -1
}

func (d *dict) get(key string) (any, bool) {
	if i := d.index(key); i >= 0 {
		return d.entries[i].val, true
	}
	return nil, false
}

// entry returns the key's entry, or nil.
func (d *dict) entry(key string) *entry {
	if i := d.index(key); i >= 0 {
		return &d.entries[i]
	}
	return nil
}

// set replaces the value of key in place or appends it; d must not be shared.
func (d *dict) set(key string, pos yamlnode.Pos, val any) {
	if i := d.index(key); i >= 0 {
		d.entries[i].val = val
		return
	}
	d.entries = append(d.entries, entry{key, pos, val})
}

// clone returns a copy of d that can be changed without touching d.
func (d *dict) clone() *dict {
	return &dict{pos: d.pos, entries: append([]entry(nil), d.entries...)}
}

// pop returns a copy of d without key, and the removed entry (nil if absent).
func (d *dict) pop(key string) (*dict, *entry) {
	i := d.index(key)
	if i < 0 {
		return d, nil
	}
	e := d.entries[i]
	out := &dict{pos: d.pos, entries: make([]entry, 0, len(d.entries)-1)}
	out.entries = append(out.entries, d.entries[:i]...)
	out.entries = append(out.entries, d.entries[i+1:]...)
	return out, &e
}
