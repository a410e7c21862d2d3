package explorations

import (
	"embed"
	"sort"
	"strings"
)

// shipped holds the explorations bitflow ships; `bitflow sweep NAME` runs
// one when no file NAME exists.
//
//go:embed *.yaml
var shipped embed.FS

// Shipped returns a shipped exploration's source by name ("bit_balanced_small"
// or "bit_balanced_small.yaml", optionally under "explorations/") and the
// file name to expand it under, whose stem starts its point names.
func Shipped(name string) (data []byte, file string, ok bool) {
	name = strings.TrimPrefix(name, "explorations/")
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	b, err := shipped.ReadFile(name)
	if err != nil {
		return nil, "", false
	}
	return b, "explorations/" + name, true
}

// ShippedNames lists the shipped explorations, without extension.
func ShippedNames() []string {
	ents, _ := shipped.ReadDir(".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}
