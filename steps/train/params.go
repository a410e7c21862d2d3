package train

import (
	"encoding/json"
	"fmt"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps"
)

// modelParams are spec model.md §1-§3, with its names and defaults. The
// vocabulary size is not a parameter: it comes from the tokenizer input.
func modelParams() []steps.Param {
	d := model.DefaultConfig()
	variants := []string{model.VariantLinear, model.VariantBitLinear, model.Variant1p58, model.VariantAdaptive}
	siteVariants := append([]string{""}, variants...)
	site := func(name, what string) steps.Param {
		return steps.Param{Name: "linear_variant_" + name, Type: steps.String, Default: "", Enum: siteVariants,
			Doc: "linear variant of the " + what + " projection (empty: its group's variant)"}
	}
	return []steps.Param{
		{Name: "n_layer", Type: steps.Int, Default: int64(d.NLayer), Doc: "transformer blocks"},
		{Name: "n_head", Type: steps.Int, Default: int64(d.NHead), Doc: "attention heads"},
		{Name: "n_embd", Type: steps.Int, Default: int64(d.NEmbd), Doc: "model width"},
		{Name: "head_dim", Type: steps.Int, Default: int64(0), Doc: "per-head width (0: n_embd/n_head)"},
		{Name: "mlp_hidden", Type: steps.Int, Default: int64(0), Doc: "SwiGLU hidden width (0: 4*n_embd)"},
		{Name: "block_size", Type: steps.Int, Default: int64(d.BlockSize), Doc: "longest sequence; longer training sequences are cut"},
		{Name: "rope", Type: steps.Bool, Default: d.RoPE, Doc: "rotary position embedding on q and k (false: no positions, the seed's NoPE model)"},
		{Name: "tie_embeddings", Type: steps.Bool, Default: d.TieEmbeddings, Doc: "share the embedding table with the head"},
		{Name: "linear_variant_attn", Type: steps.String, Default: d.LinearVariantAttn, Enum: variants, Doc: "linear variant of q, k, v and the attention output"},
		{Name: "linear_variant_mlp", Type: steps.String, Default: d.LinearVariantMLP, Enum: variants, Doc: "linear variant of the MLP's gate, up and down"},
		site("q", "query"), site("k", "key"), site("v", "value"), site("attn_proj", "attention output"),
		site("mlp_gate", "MLP gate"), site("mlp_up", "MLP up"), site("mlp_down", "MLP down"),
		{Name: "bitlinear_scale_init", Type: steps.String, Default: d.BitlinearScaleInit, Enum: []string{"absmean", "one"}, Doc: "bitlinear per-row scale init: mean |W| of the row, or the seed's 1.0"},
		{Name: "adaptive_linear_init_bits", Type: steps.Float, Default: d.AdaptiveLinearInitBits, Doc: "adaptive_bit_linear: initial bit width"},
		{Name: "adaptive_linear_min_bits", Type: steps.Float, Default: d.AdaptiveLinearMinBits, Doc: "adaptive_bit_linear: lowest bit width"},
		{Name: "adaptive_linear_max_bits", Type: steps.Float, Default: d.AdaptiveLinearMaxBits, Doc: "adaptive_bit_linear: highest bit width"},
		{Name: "adaptive_linear_quantize_input", Type: steps.Bool, Default: d.AdaptiveLinearQuantizeInput, Doc: "adaptive_bit_linear: fake-quantize the input too"},
		{Name: "adaptive_linear_activation_bits", Type: steps.Int, Default: int64(d.AdaptiveLinearActivationBits), Doc: "adaptive_bit_linear: input bits"},
		{Name: "adaptive_linear_grad", Type: steps.String, Default: d.AdaptiveLinearGrad, Enum: []string{"lsq", "ste"}, Doc: "adaptive_bit_linear: lsq lets the task loss reach the bit width; ste is the seed's (only the bit penalty moves it)"},
		{Name: "act_quant", Type: steps.String, Default: d.ActQuant, Enum: []string{model.ActQuantAbsmaxToken, model.ActQuantClip4, model.ActQuantNone}, Doc: "activation quantization of ternary layers"},
		{Name: "act_bits_start", Type: steps.Int, Default: int64(d.ActBitsStart), Doc: "activation bits at the start"},
		{Name: "act_bits_after", Type: steps.Int, Default: int64(d.ActBitsAfter), Doc: "activation bits after the flip"},
		{Name: "flip_fraction", Type: steps.Float, Default: d.FlipFraction, Doc: "flip after floor(flip_fraction * budget_tokens) seen tokens"},
		{Name: "budget_tokens", Type: steps.Int, Default: d.BudgetTokens, Doc: "token budget the flip is measured against (seen = non-padding target positions)"},
	}
}

// trainParams are spec model.md §4-§5 and the data options.
func trainParams() []steps.Param {
	d := model.DefaultTrainConfig()
	return []steps.Param{
		{Name: "max_iters", Type: steps.Int, Default: int64(d.MaxIters), Doc: "optimizer steps"},
		{Name: "batch_size", Type: steps.Int, Default: int64(8), Doc: "sequences per step"},
		{Name: "learning_rate", Type: steps.Float, Default: d.LearningRate, Doc: "peak learning rate"},
		{Name: "min_lr", Type: steps.Float, Default: d.MinLR, Doc: "learning rate at the end of the cosine decay"},
		{Name: "warmup_iters", Type: steps.Int, Default: int64(d.WarmupIters), Doc: "linear warmup steps"},
		{Name: "beta1", Type: steps.Float, Default: d.Beta1, Doc: "AdamW beta1"},
		{Name: "beta2", Type: steps.Float, Default: d.Beta2, Doc: "AdamW beta2"},
		{Name: "adam_eps", Type: steps.Float, Default: d.AdamEps, Doc: "AdamW epsilon"},
		{Name: "weight_decay", Type: steps.Float, Default: d.WeightDecay, Doc: "AdamW decoupled weight decay, on 2-D weight matrices only"},
		{Name: "grad_clip", Type: steps.Float, Default: d.GradClip, Doc: "clip the global gradient norm to this (0: no clipping)"},
		{Name: "loss_fn", Type: steps.String, Default: "", Enum: []string{"", model.LossCE, model.LossBitBalanced, model.LossKD, model.LossBitBalancedKD},
			Doc: "cross_entropy, bit_balanced_cross_entropy, kd or bit_balanced_kd (empty: kd with a traces input, cross_entropy with a corpus)"},
		{Name: "kd_tau", Type: steps.Float, Default: d.KDTau, Doc: "KD temperature"},
		{Name: "kd_tau_squared", Type: steps.Bool, Default: d.KDTauSquared, Doc: "multiply the KD term by tau^2"},
		{Name: "kd_ce_weight", Type: steps.Float, Default: d.KDCEWeight, Doc: "weight of CE in the kd loss"},
		{Name: "format_loss_weight", Type: steps.Float, Default: d.FormatLossWeight, Doc: "weight of the format loss (CE on structural teacher tokens) in the kd loss"},
		{Name: "bit_loss_weight", Type: steps.Float, Default: d.BitLossWeight, Doc: "weight of the bit penalty in the bit_balanced losses"},
		{Name: "bit_loss_normalize", Type: steps.Bool, Default: d.BitLossNormalize, Doc: "divide total bits by the number of trainable parameters"},
		{Name: "max_topk", Type: steps.Int, Default: int64(20), Doc: "traces: teacher alternatives kept per position (the K of the KD buckets)"},
		{Name: "seed", Type: steps.Int, Default: int64(0), Doc: "initialization and data-order seed"},
		{Name: "log_interval", Type: steps.Int, Default: int64(d.LogInterval), Doc: "steps per metrics line"},
		{Name: "checkpoint_interval", Type: steps.Int, Default: int64(100), Meta: true,
			Doc: "steps between resumable checkpoints (rounded up to a multiple of log_interval); resuming is exact, so it never changes results"},
	}
}

// configs turns checked params into the model and training configs. The
// params carry the spec's names, which are the JSON tags of both configs.
func configs(v steps.Values, vocab int) (model.Config, model.TrainConfig, error) {
	b, err := json.Marshal(map[string]any(v))
	if err != nil {
		return model.Config{}, model.TrainConfig{}, err
	}
	mc := model.DefaultConfig()
	tc := model.DefaultTrainConfig()
	if err := json.Unmarshal(b, &mc); err != nil {
		return mc, tc, fmt.Errorf("model params: %w", err)
	}
	if err := json.Unmarshal(b, &tc); err != nil {
		return mc, tc, fmt.Errorf("training params: %w", err)
	}
	mc.VocabSize = vocab
	if err := mc.Validate(); err != nil {
		return mc, tc, err
	}
	return mc, tc, nil
}
