package model

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bitflow-dev/bitflow/model/safetensors"
)

// CheckpointMeta is the training state a model checkpoint records in its
// safetensors __metadata__ next to the config (spec §6).
type CheckpointMeta struct {
	Step            int
	SeenTokens      int64
	FlipDone        bool
	ActBits         int
	TokenizerDigest string
}

// WriteCheckpoint writes m's tensors under their spec names and a
// __metadata__ holding config (the resolved config as JSON), step,
// seen_tokens, flip_done, act_bits and tokenizer_digest. meta.ActBits 0
// means the model's current bits.
func (m *Model) WriteCheckpoint(w io.Writer, meta CheckpointMeta) error {
	cfgJSON, err := json.Marshal(m.cfg)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if meta.ActBits == 0 {
		meta.ActBits = m.actBits
	}
	md := map[string]string{
		"format":           "pt",
		"config":           string(cfgJSON),
		"step":             strconv.Itoa(meta.Step),
		"seen_tokens":      strconv.FormatInt(meta.SeenTokens, 10),
		"flip_done":        strconv.FormatBool(meta.FlipDone),
		"act_bits":         strconv.Itoa(meta.ActBits),
		"tokenizer_digest": meta.TokenizerDigest,
	}
	ts := make([]safetensors.Tensor, len(m.lay.tensors))
	for i, t := range m.lay.tensors {
		ts[i] = safetensors.Tensor{Name: t.Name, Shape: t.Shape, Data: m.Params[t.Offset : t.Offset+t.Size()]}
	}
	bw := bufio.NewWriter(w)
	if err := safetensors.Write(bw, ts, md); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// ReadCheckpoint reads a model written by WriteCheckpoint: the config from
// the metadata, every tensor by name and shape, and the activation bits.
func ReadCheckpoint(r io.Reader) (*Model, CheckpointMeta, error) {
	f, err := safetensors.Read(bufio.NewReader(r))
	if err != nil {
		return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: %w", err)
	}
	cfg := DefaultConfig()
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: config metadata: %w", err)
	}
	m, err := newShell(cfg)
	if err != nil {
		return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: %w", err)
	}
	for _, t := range m.lay.tensors {
		data, err := f.Get(t.Name, t.Shape...)
		if err != nil {
			return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: %w", err)
		}
		copy(m.Params[t.Offset:], data)
	}
	if len(f.Tensors) != len(m.lay.tensors) {
		return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: %d tensors, the config has %d", len(f.Tensors), len(m.lay.tensors))
	}
	var meta CheckpointMeta
	meta.TokenizerDigest = f.Metadata["tokenizer_digest"]
	var errs [4]error
	meta.Step, errs[0] = strconv.Atoi(f.Metadata["step"])
	meta.SeenTokens, errs[1] = strconv.ParseInt(f.Metadata["seen_tokens"], 10, 64)
	meta.FlipDone, errs[2] = strconv.ParseBool(f.Metadata["flip_done"])
	meta.ActBits, errs[3] = strconv.Atoi(f.Metadata["act_bits"])
	for _, e := range errs {
		if e != nil {
			return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: metadata: %w", e)
		}
	}
	if meta.ActBits < 2 || meta.ActBits > 8 {
		return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: act_bits %d outside 2..8", meta.ActBits)
	}
	m.actBits = meta.ActBits
	return m, meta, nil
}

// SaveCheckpoint writes m to path through a temporary file renamed into
// place, so a crash never leaves a torn checkpoint.
func SaveCheckpoint(path string, m *Model, meta CheckpointMeta) error {
	return writeAtomic(path, func(w io.Writer) error { return m.WriteCheckpoint(w, meta) })
}

// LoadCheckpoint reads the checkpoint at path.
func LoadCheckpoint(path string) (*Model, CheckpointMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, CheckpointMeta{}, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	return ReadCheckpoint(f)
}

func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Meta returns the checkpoint metadata of the trainer's current state.
func (t *Trainer) Meta(tokenizerDigest string) CheckpointMeta {
	return CheckpointMeta{Step: t.Step, SeenTokens: t.SeenTokens, FlipDone: t.FlipDone,
		ActBits: t.Model.actBits, TokenizerDigest: tokenizerDigest}
}

// WriteState writes the optimizer and generator state that a model
// checkpoint does not hold: a safetensors file with the AdamW moments
// adam.m and adam.v and metadata for the counters and the PCG state.
func (t *Trainer) WriteState(w io.Writer) error {
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train state: %w", err)
	}
	md := map[string]string{
		"format":      "bitflow-train-state",
		"step":        strconv.Itoa(t.Step),
		"seen_tokens": strconv.FormatInt(t.SeenTokens, 10),
		"flip_done":   strconv.FormatBool(t.FlipDone),
		"adam_t":      strconv.FormatInt(t.Opt.T, 10),
		"rng":         hex.EncodeToString(rng),
	}
	n := len(t.Opt.M)
	bw := bufio.NewWriter(w)
	err = safetensors.Write(bw, []safetensors.Tensor{
		{Name: "adam.m", Shape: []int{n}, Data: t.Opt.M},
		{Name: "adam.v", Shape: []int{n}, Data: t.Opt.V},
	}, md)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("train state: %w", err)
	}
	return nil
}

// ResumeTrainer returns a trainer continuing from a model checkpoint (m and
// meta from ReadCheckpoint) and the state file WriteState wrote with it.
func ResumeTrainer(m *Model, meta CheckpointMeta, cfg TrainConfig, state io.Reader) (*Trainer, error) {
	t, err := NewTrainer(m, cfg, 0)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Read(bufio.NewReader(state))
	if err != nil {
		return nil, fmt.Errorf("train state: %w", err)
	}
	if f.Metadata["format"] != "bitflow-train-state" {
		return nil, fmt.Errorf("train state: not a bitflow train state (format %q)", f.Metadata["format"])
	}
	n := len(m.Params)
	mv, err := f.Get("adam.m", n)
	if err != nil {
		return nil, fmt.Errorf("train state: %w", err)
	}
	vv, err := f.Get("adam.v", n)
	if err != nil {
		return nil, fmt.Errorf("train state: %w", err)
	}
	copy(t.Opt.M, mv)
	copy(t.Opt.V, vv)
	step, err1 := strconv.Atoi(f.Metadata["step"])
	seen, err2 := strconv.ParseInt(f.Metadata["seen_tokens"], 10, 64)
	flip, err3 := strconv.ParseBool(f.Metadata["flip_done"])
	at, err4 := strconv.ParseInt(f.Metadata["adam_t"], 10, 64)
	rng, err5 := hex.DecodeString(f.Metadata["rng"])
	for _, e := range []error{err1, err2, err3, err4, err5} {
		if e != nil {
			return nil, fmt.Errorf("train state: metadata: %w", e)
		}
	}
	if step != meta.Step || seen != meta.SeenTokens || flip != meta.FlipDone {
		return nil, fmt.Errorf("train state: step %d, seen %d, flip %v does not match the checkpoint's %d, %d, %v",
			step, seen, flip, meta.Step, meta.SeenTokens, meta.FlipDone)
	}
	if err := t.pcg.UnmarshalBinary(rng); err != nil {
		return nil, fmt.Errorf("train state: rng: %w", err)
	}
	t.Step, t.SeenTokens, t.FlipDone, t.Opt.T = step, seen, flip, at
	return t, nil
}

// Save writes the trainer's model checkpoint to modelPath and its state to
// statePath, each atomically.
func (t *Trainer) Save(modelPath, statePath, tokenizerDigest string) error {
	if err := SaveCheckpoint(modelPath, t.Model, t.Meta(tokenizerDigest)); err != nil {
		return err
	}
	return writeAtomic(statePath, t.WriteState)
}

// LoadTrainer resumes the trainer saved by Save at modelPath and statePath.
// It returns the checkpoint metadata too (for its tokenizer digest).
func LoadTrainer(modelPath, statePath string, cfg TrainConfig) (*Trainer, CheckpointMeta, error) {
	m, meta, err := LoadCheckpoint(modelPath)
	if err != nil {
		return nil, meta, err
	}
	f, err := os.Open(statePath)
	if err != nil {
		return nil, meta, fmt.Errorf("train state: %w", err)
	}
	defer f.Close()
	t, err := ResumeTrainer(m, meta, cfg, f)
	return t, meta, err
}
