package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
)

// This file is the only place where ActionIDs are composed. An ActionID is
// the SHA-256 of a text manifest with one line per influence on a step's
// result (design §3):
//
//	bitflow action v1
//	kind NAME VERSION
//	param NAME CANONICAL-JSON    (sorted by name)
//	input NAME DIGEST            (sorted by name)
//	command JSON-STRING          (exec: after ${{ params.* }} substitution)
//	env NAME JSON-STRING         (exec, sorted; see envLine for host values)
//	file PATH DIGEST             (sorted by path)
//
// The step's name, the workflow's name, descriptions, CPU counts and log
// levels are not influences and never enter it. Upstream steps enter only
// through their output digests, so an upstream rerun that reproduces the
// same bytes changes nothing downstream.

const manifestHeader = "bitflow action v1"

// Key is everything that determines a step's result.
type Key struct {
	Kind    string
	Version string
	Params  map[string]any          // the kind's params after defaults (not exec)
	Inputs  map[string]store.Digest // input name -> upstream output digest
	Command string                  // exec only
	Env     []EnvValue              // exec only
	Files   []steps.File
}

// EnvValue is one variable of an exec step's environment.
type EnvValue struct {
	Name  string
	Value string
	// Unset marks a pass-through variable that bitflow's environment lacks.
	Unset bool
	// FromHost marks a pass-through variable (`env: [NAME]`). Its value may
	// be a secret, so the manifest, which is stored, holds only its digest;
	// values written in the workflow are already in the run's snapshot and
	// appear as they are.
	FromHost bool
}

// Manifest returns the canonical manifest text of k.
func (k *Key) Manifest() (string, error) {
	var b strings.Builder
	b.WriteString(manifestHeader + "\n")
	fmt.Fprintf(&b, "kind %s %s\n", k.Kind, k.Version)
	for _, name := range sortedKeys(k.Params) {
		cj, err := canonicalJSON(k.Params[name])
		if err != nil {
			return "", fmt.Errorf("param %s: %w", name, err)
		}
		fmt.Fprintf(&b, "param %s %s\n", name, cj)
	}
	for _, name := range sortedKeys(k.Inputs) {
		fmt.Fprintf(&b, "input %s %s\n", name, k.Inputs[name])
	}
	if k.Kind == execKind {
		fmt.Fprintf(&b, "command %s\n", quote(k.Command))
		env := append([]EnvValue(nil), k.Env...)
		sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
		for _, e := range env {
			b.WriteString(envLine(e) + "\n")
		}
	}
	files := append([]steps.File(nil), k.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	for _, f := range files {
		fmt.Fprintf(&b, "file %s %s\n", quote(f.Rel), f.Digest)
	}
	return b.String(), nil
}

func envLine(e EnvValue) string {
	switch {
	case e.Unset:
		return fmt.Sprintf("env %s unset", e.Name)
	case e.FromHost:
		return fmt.Sprintf("env %s host %s", e.Name, store.DigestOf([]byte(e.Value)))
	}
	return fmt.Sprintf("env %s %s", e.Name, quote(e.Value))
}

// ActionID hashes a manifest.
func ActionID(manifest string) string {
	sum := sha256.Sum256([]byte(manifest))
	return hex.EncodeToString(sum[:])
}

// quote writes s as a JSON string, without Go's HTML escaping (so that
// `>` in a command stays readable in manifests).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// canonicalJSON encodes a parameter value one way only: mappings with
// sorted keys, no insignificant space, integers as integers, floats in
// their shortest form that round-trips (so 0.1 is 0.1 and 1.0 is 1).
func canonicalJSON(v any) (string, error) {
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v cannot be part of a key", x)
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		b.WriteString(quote(x))
	case []any:
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, it); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(k))
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("unsupported value of type %T", v)
	}
	return nil
}
