package teacher

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/model"
)

// inputs is a steps.Inputs over fixed paths and digests.
type inputs map[string][2]string

func (in inputs) Names() []string {
	var n []string
	for k := range in {
		n = append(n, k)
	}
	return n
}
func (in inputs) Path(name string) string   { return in[name][0] }
func (in inputs) Digest(name string) string { return in[name][1] }

// TestOpenLocal: the local provider built from a checkpoint file and a
// tokenizer loader answers as one built from the model in memory, and is
// described by the checkpoint's digest.
func TestOpenLocal(t *testing.T) {
	m := tinyModel(t, model.VariantLinear, 5)
	ckpt := filepath.Join(t.TempDir(), "teacher.safetensors")
	if err := model.SaveCheckpoint(ckpt, m, model.CheckpointMeta{}); err != nil {
		t.Fatal(err)
	}
	var loaded string
	o := Opener{LoadTokenizer: func(path string) (Tokenizer, error) {
		loaded = path
		return newFakeTokenizer(), nil
	}}
	in := inputs{InputCheckpoint: {ckpt, "sha256:abc"}, InputTokenizer: {"/store/tok.json", "sha256:def"}}
	cfg := Config{Provider: ProviderLocal, Concurrency: 2, Timeout: time.Second}
	p, err := o.Open(context.Background(), cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	if prov, name := p.Describe(); prov != ProviderLocal || name != "sha256:abc" || loaded != "/store/tok.json" {
		t.Errorf("describe %s %s, tokenizer read from %q", prov, name, loaded)
	}
	direct, err := NewLocal(m, newFakeTokenizer(), LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := testRequests()[2]
	a, err1 := p.Complete(context.Background(), req)
	b, err2 := direct.Complete(context.Background(), req)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(untimed(a), untimed(b)) {
		t.Errorf("opened %+v (%v), direct %+v (%v)", a, err1, b, err2)
	}
	if p.(*Local).pool.slots == nil || cap(p.(*Local).pool.slots) != 2 {
		t.Error("concurrency not taken from the config")
	}
}

// TestOpenErrors: missing inputs, loader or variable, unknown providers,
// and a failing loader are clear errors; openai needs no tokenizer.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	loader := Opener{LoadTokenizer: func(string) (Tokenizer, error) { return nil, errors.New("bad tokenizer.json") }}
	ckpt := filepath.Join(t.TempDir(), "t.safetensors")
	if err := model.SaveCheckpoint(ckpt, tinyModel(t, model.VariantLinear, 1), model.CheckpointMeta{}); err != nil {
		t.Fatal(err)
	}
	both := inputs{InputCheckpoint: {ckpt, ""}, InputTokenizer: {"tok.json", ""}}
	local := Config{Provider: ProviderLocal, Concurrency: 1, Timeout: time.Second}
	cases := []struct {
		o    Opener
		cfg  Config
		in   inputs
		want string
	}{
		{loader, local, inputs{InputTokenizer: {"tok.json", ""}}, "needs the inputs teacher"},
		{Opener{}, local, both, "no tokenizer loader"},
		{loader, local, both, "input teacher_tokenizer: bad tokenizer.json"},
		{loader, local, inputs{InputCheckpoint: {ckpt + ".missing", ""}, InputTokenizer: {"tok.json", ""}}, "input teacher: checkpoint"},
		{loader, Config{Provider: "anthropic"}, both, `unknown provider "anthropic"`},
		{Opener{}, Config{Provider: ProviderOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "m", APIKeyEnv: "BITFLOW_TEST_NO_SUCH_KEY", Concurrency: 1, Timeout: time.Second}, nil, "BITFLOW_TEST_NO_SUCH_KEY"},
	}
	for _, tc := range cases {
		_, err := tc.o.Open(ctx, tc.cfg, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	p, err := Opener{}.Open(ctx, Config{Provider: ProviderOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "m", Concurrency: 1, Timeout: time.Second}, nil)
	if err != nil || p == nil {
		t.Errorf("openai without a key variable: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := loader.Open(cctx, local, both); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
