// Package builtin assembles the registry of every built-in step kind and
// wires them together: the kinds that talk to a teacher get the provider
// factory, and the ones that read tokenizers get the tokenizer reader.
package builtin

import (
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/baseline"
	"github.com/bitflow-dev/bitflow/steps/corpus"
	"github.com/bitflow-dev/bitflow/steps/dryrun"
	"github.com/bitflow-dev/bitflow/steps/eval"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/steps/teacher"
	tokkind "github.com/bitflow-dev/bitflow/steps/tokenizer"
	"github.com/bitflow-dev/bitflow/steps/traces"
	"github.com/bitflow-dev/bitflow/steps/train"
)

// Registry returns a registry of all built-in kinds.
func Registry() *steps.Registry {
	open := teacher.Opener{LoadTokenizer: func(path string) (teacher.Tokenizer, error) {
		return tokenizer.ReadFile(path)
	}}.Open
	return steps.NewRegistry(
		exec.Kind{},
		corpus.Kind{},
		tokkind.Kind{},
		train.Kind{},
		baseline.Kind{Open: open},
		traces.Kind{Open: open, LoadTokenizer: func(path string) (traces.Tokenizer, error) {
			return tokenizer.ReadFile(path)
		}},
		eval.Kind{},
		dryrun.Kind{},
	)
}
