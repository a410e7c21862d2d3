package teacher

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// parseChat reads a chat completion with logprobs into a Completion, topN
// being the alternatives asked for per token.
//
// The tokens' texts (their bytes when the API sends them) must spell the
// message content: the traces step rebuilds the completion from them, so a
// mismatch would silently misalign training data. Completion.Text is that
// concatenation, exact to the byte; the content only checks it, as a JSON
// string cannot carry the partial UTF-8 character a completion cut at
// max_tokens may end with. More alternatives than asked for are cut to
// topN; none when some were asked for is an error.
func parseChat(data []byte, topN int) (*Completion, error) {
	var r chatCompletion
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding the body: %w", err)
	}
	if len(r.Choices) == 0 {
		if len(r.Error) > 0 {
			return nil, fmt.Errorf("no choices, error %s", errorMessage(data))
		}
		return nil, errors.New("no choices")
	}
	ch := r.Choices[0]
	content := ""
	if ch.Message.Content != nil {
		content = *ch.Message.Content
	}
	c := &Completion{FinishReason: ch.FinishReason}
	var lps []chatTokenLogprob
	if ch.Logprobs != nil {
		lps = ch.Logprobs.Content
	}
	if lps == nil && content != "" {
		return nil, fmt.Errorf("no logprobs for a completion of %d bytes (does the endpoint support logprobs?)", len(content))
	}
	var text strings.Builder
	for i, lp := range lps {
		t, err := tokenText(lp.Token, lp.Bytes)
		if err != nil {
			return nil, fmt.Errorf("token %d: %w", i, err)
		}
		tok := Token{Text: t, Logprob: lp.Logprob}
		if topN > 0 && len(lp.TopLogprobs) == 0 {
			return nil, fmt.Errorf("token %d: no top_logprobs, %d asked for", i, topN)
		}
		for j, a := range lp.TopLogprobs {
			at, err := tokenText(a.Token, a.Bytes)
			if err != nil {
				return nil, fmt.Errorf("token %d, alternative %d: %w", i, j, err)
			}
			tok.Top = append(tok.Top, Alternative{Text: at, Logprob: a.Logprob})
		}
		// Most likely first, as Token promises; stable, so ties keep the
		// API's order.
		slices.SortStableFunc(tok.Top, func(a, b Alternative) int { return cmp.Compare(b.Logprob, a.Logprob) })
		if len(tok.Top) > topN {
			tok.Top = slices.Clip(tok.Top[:topN])
		}
		if len(tok.Top) == 0 {
			tok.Top = nil
		}
		text.WriteString(t)
		c.Tokens = append(c.Tokens, tok)
	}
	c.Text = text.String()
	if canonicalText(c.Text) != canonicalText(content) {
		return nil, fmt.Errorf("the %d logprobs tokens spell %s, the content is %s", len(lps), snippet(c.Text), snippet(content))
	}
	if r.Usage != nil {
		c.PromptTokens, c.CompletionTokens = r.Usage.PromptTokens, r.Usage.CompletionTokens
	} else {
		c.CompletionTokens = len(c.Tokens)
	}
	return c, nil
}

// canonicalText replaces every run of invalid UTF-8 bytes and replacement
// characters with one replacement character. Servers turn a partial
// character into U+FFFD in different ways (per byte, per run), so texts are
// compared in this form.
func canonicalText(s string) string {
	var b strings.Builder
	run := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == utf8.RuneError {
			if !run {
				b.WriteRune(utf8.RuneError)
			}
			run = true
			continue
		}
		run = false
		b.WriteRune(r)
	}
	return b.String()
}

// snippet quotes the start of s for an error message.
func snippet(s string) string {
	const n = 80
	if len(s) > n {
		return fmt.Sprintf("%q...", s[:n])
	}
	return fmt.Sprintf("%q", s)
}
