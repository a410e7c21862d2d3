package train

import (
	"testing"

	"github.com/bitflow-dev/bitflow/steps"
)

// specParams lists every parameter spec model.md §1-§5 names, with the
// default the spec states, as the train kind must offer it. Where the
// schema's default is a stand-in for the spec's, or the spec gives none,
// note says why the schema's value is right.
var specParams = []struct {
	name string
	typ  steps.Type
	def  any
	note string
}{
	// §1 Architecture
	{"n_layer", steps.Int, int64(4), ""},
	{"n_head", steps.Int, int64(4), ""},
	{"n_embd", steps.Int, int64(128), ""},
	{"head_dim", steps.Int, int64(0), "spec: n_embd/n_head; 0 stands for it (it depends on two other params), checked below"},
	{"mlp_hidden", steps.Int, int64(0), "spec: 4*n_embd; 0 stands for it, checked below"},
	{"block_size", steps.Int, int64(256), ""},
	{"rope", steps.Bool, true, ""},
	{"tie_embeddings", steps.Bool, false, ""},
	// §2 Linear variants
	{"linear_variant_attn", steps.String, "bitlinear", "spec gives no default; bitlinear makes the default model the ternary student"},
	{"linear_variant_mlp", steps.String, "bitlinear", "as linear_variant_attn"},
	{"linear_variant_q", steps.String, "", "spec: empty = the group's value"},
	{"linear_variant_k", steps.String, "", "spec: empty = the group's value"},
	{"linear_variant_v", steps.String, "", "spec: empty = the group's value"},
	{"linear_variant_attn_proj", steps.String, "", "spec: empty = the group's value"},
	{"linear_variant_mlp_gate", steps.String, "", "spec: empty = the group's value"},
	{"linear_variant_mlp_up", steps.String, "", "spec: empty = the group's value"},
	{"linear_variant_mlp_down", steps.String, "", "spec: empty = the group's value"},
	{"bitlinear_scale_init", steps.String, "absmean", ""},
	{"adaptive_linear_init_bits", steps.Float, 8.0, ""},
	{"adaptive_linear_min_bits", steps.Float, 1.0, ""},
	{"adaptive_linear_max_bits", steps.Float, 8.0, ""},
	{"adaptive_linear_quantize_input", steps.Bool, true, ""},
	{"adaptive_linear_activation_bits", steps.Int, int64(8), ""},
	{"adaptive_linear_grad", steps.String, "lsq", ""},
	// §3 Activation quantization
	{"act_quant", steps.String, "absmax_token", ""},
	{"act_bits_start", steps.Int, int64(8), ""},
	{"act_bits_after", steps.Int, int64(4), ""},
	{"flip_fraction", steps.Float, 0.9, ""},
	{"budget_tokens", steps.Int, int64(1_000_000), ""},
	// §4 Losses
	{"kd_tau", steps.Float, 1.3, ""},
	{"kd_tau_squared", steps.Bool, false, ""},
	{"kd_ce_weight", steps.Float, 0.25, ""},
	{"format_loss_weight", steps.Float, 0.2, ""},
	{"bit_loss_weight", steps.Float, 1e-6, ""},
	{"bit_loss_normalize", steps.Bool, false, "spec gives no default; false penalizes the raw total bits T"},
	{"loss_fn", steps.String, "", "spec gives no default; empty picks kd with a traces input, cross_entropy with a corpus"},
	// §5 Optimizer and schedule
	{"learning_rate", steps.Float, 6e-4, ""},
	{"min_lr", steps.Float, 6e-5, ""},
	{"weight_decay", steps.Float, 0.1, ""},
	{"warmup_iters", steps.Int, int64(0), ""},
	{"max_iters", steps.Int, int64(1000), "spec: as the workflow sets; 1000 when it does not"},
	{"grad_clip", steps.Float, 1.0, ""},
	{"batch_size", steps.Int, int64(8), ""},
	{"beta1", steps.Float, 0.9, "spec: betas (0.9, 0.95)"},
	{"beta2", steps.Float, 0.95, "spec: betas (0.9, 0.95)"},
	{"adam_eps", steps.Float, 1e-8, "spec: eps 1e-8"},
}

// TestSpecParamsHaveTheSpecDefaults checks that every parameter of spec
// model.md §1-§5 is a param of the train kind, under the spec's name, with
// the spec's type and default and a doc.
func TestSpecParamsHaveTheSpecDefaults(t *testing.T) {
	sc := Kind{}.Params()
	for _, sp := range specParams {
		p := sc.Param(sp.name)
		if p == nil {
			t.Errorf("%s: not a param of the train kind", sp.name)
			continue
		}
		if p.Type != sp.typ {
			t.Errorf("%s: type %s, spec %s", sp.name, p.Type, sp.typ)
		}
		if p.Default != sp.def {
			t.Errorf("%s: default %#v, spec %#v (%s)", sp.name, p.Default, sp.def, sp.note)
		}
		if p.Doc == "" {
			t.Errorf("%s: no doc", sp.name)
		}
	}

	// The stand-ins resolve to the spec's defaults.
	vals, errs := sc.Resolve(map[string]any{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	mc, _, err := configs(vals, 300)
	if err != nil {
		t.Fatal(err)
	}
	r := mc.Resolved()
	if r.HeadDim != 128/4 || r.MLPHidden != 4*128 {
		t.Errorf("head_dim %d, mlp_hidden %d: want n_embd/n_head = 32 and 4*n_embd = 512", r.HeadDim, r.MLPHidden)
	}
	if r.LinearVariantQ != "bitlinear" || r.LinearVariantMLPDown != "bitlinear" {
		t.Errorf("empty site variants resolved to %q and %q, not their group's", r.LinearVariantQ, r.LinearVariantMLPDown)
	}
}
