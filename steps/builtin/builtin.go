// Package builtin assembles the registry of every built-in step kind.
package builtin

import (
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/dryrun"
	"github.com/bitflow-dev/bitflow/steps/exec"
)

// Registry returns a registry of all built-in kinds.
func Registry() *steps.Registry {
	return steps.NewRegistry(
		exec.Kind{},
		dryrun.Kind{},
	)
}
