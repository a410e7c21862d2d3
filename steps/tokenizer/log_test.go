package tokenizer

import (
	"os"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/steps"
)

// TestExistingLogsMissingSpecials checks that a tokenizer without the chat
// specials passes, with one log line per missing special.
func TestExistingLogsMissingSpecials(t *testing.T) {
	var log strings.Builder
	env := &steps.Env{Log: &log, Files: []steps.File{{Rel: "t.json", Path: "../../model/tokenizer/testdata/gpt2_prefix.json"}}}
	data, err := existing(env, "t.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("../../model/tokenizer/testdata/gpt2_prefix.json")
	if string(data) != string(want) {
		t.Error("the file was not passed through")
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "<|pad|>") {
		t.Errorf("log %q", log.String())
	}
}
