// Package version holds bitflow's version, set at build time by the
// Makefile (-ldflags "-X ...version.Version=...").
package version

import "runtime/debug"

// Version is bitflow's release or commit; "dev" for an unstamped build.
var Version = "dev"

// String returns the version, falling back to the module version recorded
// by `go install MODULE@VERSION`.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}
