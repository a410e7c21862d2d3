package teacher

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps"
)

// Opener builds the provider a step's parameters name. Its Open method is
// what the baseline and traces kinds take to build their teacher.
type Opener struct {
	// LoadTokenizer reads a tokenizer.json (model/tokenizer's Read, wrapped
	// to return a Tokenizer). Only the local provider needs it.
	LoadTokenizer func(path string) (Tokenizer, error)
}

// Open returns the provider cfg names: local loads the checkpoint of input
// InputCheckpoint and the tokenizer of input InputTokenizer and runs up to
// cfg.Concurrency generations at once; openai is NewOpenAI(cfg). The local
// provider is described by the checkpoint's digest, which names exactly
// the teacher that answered.
func (o Opener) Open(ctx context.Context, cfg Config, in steps.Inputs) (Provider, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch cfg.Provider {
	case ProviderOpenAI:
		return NewOpenAI(cfg)
	case ProviderLocal:
	default:
		return nil, fmt.Errorf("unknown provider %q (want %s or %s)", cfg.Provider, ProviderLocal, ProviderOpenAI)
	}
	ckpt, tokPath := in.Path(InputCheckpoint), in.Path(InputTokenizer)
	if ckpt == "" || tokPath == "" {
		return nil, fmt.Errorf("provider local needs the inputs %s (a checkpoint) and %s (its tokenizer)", InputCheckpoint, InputTokenizer)
	}
	if o.LoadTokenizer == nil {
		return nil, errors.New("provider local: no tokenizer loader")
	}
	m, _, err := model.LoadCheckpoint(ckpt)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", InputCheckpoint, err)
	}
	tok, err := o.LoadTokenizer(tokPath)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", InputTokenizer, err)
	}
	name := in.Digest(InputCheckpoint)
	if name == "" {
		name = filepath.Base(ckpt)
	}
	return NewLocal(m, tok, LocalOptions{Name: name, Concurrency: cfg.Concurrency})
}
