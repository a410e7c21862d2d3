package traces

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math"
	"os"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

// Tokenizer is what the traces kind and the training sequences need of the
// student tokenizer (model/tokenizer's *Tokenizer satisfies it).
type Tokenizer interface {
	Encoder
	// Encode encodes text, recognizing special-token strings.
	Encode(text string) []int32
	EOSID() int32
	PadID() int32
}

// TemplateHash is the template_hash column: the SHA-256 (hex) of
// PromptTemplate, placeholder included. Training refuses traces whose hash
// differs, since their prompts would be laid out differently.
func TemplateHash() string { return hashHex([]byte(tokenizer.PromptTemplate)) }

// TokenizerHash is the tokenizer_hash column: the SHA-256 (hex) of the
// student tokenizer file's bytes (the same hex as the file's store digest),
// so training can check that it uses the vocabulary the ids refer to.
func TokenizerHash(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("student tokenizer: %w", err)
	}
	return hashHex(b), nil
}

// CheckTokenizer reports rows projected onto another vocabulary than the
// student tokenizer whose TokenizerHash is hash: their ids would mean other
// tokens.
func CheckTokenizer(rows []Row, hash string) error {
	for _, r := range rows {
		if r.TokenizerHash != hash {
			return fmt.Errorf("prompt %d step %d: traces were projected with tokenizer %.12s, not %.12s", r.PromptIdx, r.StepIdx, r.TokenizerHash, hash)
		}
	}
	return nil
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Row is one row of the traces file: one teacher token step. Its fields are
// the file's columns, in order.
type Row struct {
	PromptIdx         int64  // position of the prompt in the seeded order
	StepIdx           int64  // position of the token in the completion
	TeacherSampleID   int64  // first student id of the sampled token; -1 if its text encodes to nothing
	TeacherSampleText string // the sampled token's text
	TopKIDs           []int64
	TopKLogprobs      []float64
	OtherLogprob      float64
	IsStructToken     bool // model.IsStructural(TeacherSampleText)
	TemplateHash      string
	TokenizerHash     string
	// TeacherSampleLogprob is the teacher's logprob of the sampled token.
	TeacherSampleLogprob float64
	// StudentIDs is the full student encoding of TeacherSampleText (as
	// plain text unless it spells a special token).
	StudentIDs []int64
	PromptText string
}

// promptStats counts what building one prompt's rows saw.
type promptStats struct {
	Rows          int
	TeacherTokens int
	EndRows       int
	StudentTokens int
	Dropped       int
	Flagged       int
	EmptySamples  int
	FinishReason  string
}

// rowsFor turns a teacher completion of the prompt at position pos into its
// rows: one per generated token, with the sampled token's student encoding
// and the projection of its alternatives, plus an end row when the teacher
// stopped by itself (FinishReason "stop"). Providers do not report the
// end-of-sequence token as a generated token, yet a student that never sees
// EOS as a target never learns to stop; the end row is that token: text
// tokenizer.EOS, student ids [EOS], a one-hot distribution (top-K [EOS] with
// logprob 0, other -Inf) and a sampled logprob of 0.
func rowsFor(pos int, prompt string, c *teacher.Completion, tok Tokenizer, k int, tplHash, tokHash string) ([]Row, promptStats, error) {
	st := promptStats{FinishReason: c.FinishReason}
	rows := make([]Row, 0, len(c.Tokens)+1)
	for i, t := range c.Tokens {
		if math.IsNaN(t.Logprob) || math.IsInf(t.Logprob, 1) {
			return nil, st, fmt.Errorf("token %d %q: logprob %v", i, t.Text, t.Logprob)
		}
		proj, err := Project(t.Top, tok, k)
		if err != nil {
			return nil, st, fmt.Errorf("token %d: %w", i, err)
		}
		ids := widen(studentIDs(tok, t.Text))
		first := int64(-1)
		if len(ids) > 0 {
			first = ids[0]
		} else {
			st.EmptySamples++
		}
		rows = append(rows, Row{
			PromptIdx: int64(pos), StepIdx: int64(i), TeacherSampleID: first, TeacherSampleText: t.Text,
			TopKIDs: proj.IDs, TopKLogprobs: proj.Logprobs, OtherLogprob: proj.Other,
			IsStructToken: model.IsStructural(t.Text), TemplateHash: tplHash, TokenizerHash: tokHash,
			TeacherSampleLogprob: t.Logprob, StudentIDs: ids, PromptText: prompt,
		})
		st.TeacherTokens++
		st.StudentTokens += len(ids)
		st.Dropped += proj.Dropped
		if proj.Flagged {
			st.Flagged++
		}
	}
	if c.FinishReason == "stop" {
		eos := int64(tok.EOSID())
		rows = append(rows, Row{
			PromptIdx: int64(pos), StepIdx: int64(len(c.Tokens)), TeacherSampleID: eos, TeacherSampleText: tokenizer.EOS,
			TopKIDs: []int64{eos}, TopKLogprobs: []float64{0}, OtherLogprob: math.Inf(-1),
			TemplateHash: tplHash, TokenizerHash: tokHash, StudentIDs: []int64{eos}, PromptText: prompt,
		})
		st.EndRows++
		st.StudentTokens++
	}
	st.Rows = len(rows)
	return rows, st, nil
}

func widen(ids []int32) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}
