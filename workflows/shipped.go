package workflows

import (
	"embed"
	"sort"
	"strings"
)

// shipped holds the example and default workflows bitflow ships; `bitflow run
// NAME` runs one when no file NAME exists.
//
//go:embed *.yaml
var shipped embed.FS

// Shipped returns a shipped workflow's source by name ("hello" or
// "hello.yaml").
func Shipped(name string) ([]byte, bool) {
	name = strings.TrimPrefix(name, "workflows/")
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	b, err := shipped.ReadFile(name)
	return b, err == nil
}

// ShippedNames lists the shipped workflows, without extension.
func ShippedNames() []string {
	ents, _ := shipped.ReadDir(".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}
