package teacher

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The JSON shapes of OpenAI's API that the openai provider sends and parses
// and the server accepts and answers with. One definition serves both sides;
// tests pin each side against literal OpenAI documents, so a mistake made
// here cannot hide behind the client and server agreeing with each other.

// chatRequest is the body of POST /chat/completions. Pointers tell an absent
// field from a zero one (temperature 0 means greedy, absent means 1). The
// fields after Seed are only read by the server, to refuse what it cannot do
// rather than silently ignore it.
type chatRequest struct {
	Model               string        `json:"model"`
	Messages            []chatMessage `json:"messages"`
	MaxTokens           *int          `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int          `json:"max_completion_tokens,omitempty"`
	Temperature         *float64      `json:"temperature,omitempty"`
	TopP                *float64      `json:"top_p,omitempty"`
	Seed                *int64        `json:"seed,omitempty"`
	Logprobs            *bool         `json:"logprobs,omitempty"`
	TopLogprobs         *int          `json:"top_logprobs,omitempty"`
	unsupported
}

// completionRequest is the body of the legacy POST /completions.
type completionRequest struct {
	Model       string          `json:"model"`
	Prompt      json.RawMessage `json:"prompt"`
	MaxTokens   *int            `json:"max_tokens,omitempty"`
	Temperature *float64        `json:"temperature,omitempty"`
	TopP        *float64        `json:"top_p,omitempty"`
	Seed        *int64          `json:"seed,omitempty"`
	Logprobs    *int            `json:"logprobs,omitempty"`
	Echo        bool            `json:"echo,omitempty"`
	Suffix      *string         `json:"suffix,omitempty"`
	BestOf      *int            `json:"best_of,omitempty"`
	unsupported
}

// unsupported are request fields that change what a model answers but that
// the server does not implement.
type unsupported struct {
	Stream           bool               `json:"stream,omitempty"`
	N                *int               `json:"n,omitempty"`
	Stop             json.RawMessage    `json:"stop,omitempty"`
	PresencePenalty  *float64           `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64           `json:"frequency_penalty,omitempty"`
	LogitBias        map[string]float64 `json:"logit_bias,omitempty"`
	Tools            json.RawMessage    `json:"tools,omitempty"`
}

// chatMessage is one message of a chat request. Content is a string or an
// array of content parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// chatCompletion is the answer of POST /chat/completions.
type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
	// Error is set by proxies that answer a failure with status 200.
	Error json.RawMessage `json:"error,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      chatReply     `json:"message"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
}

type chatReply struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
	Refusal *string `json:"refusal"`
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
	Refusal []chatTokenLogprob `json:"refusal"`
}

// chatTokenLogprob is one generated token. Bytes are the token's exact
// UTF-8 bytes (a token may hold part of a character, which Token cannot
// show); OpenAI sends null when a token has no bytes representation.
type chatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// textCompletion is the answer of the legacy POST /completions.
type textCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []textChoice `json:"choices"`
	Usage   usage        `json:"usage"`
}

type textChoice struct {
	Text         string        `json:"text"`
	Index        int           `json:"index"`
	Logprobs     *textLogprobs `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
}

// textLogprobs is the legacy logprobs shape: parallel arrays, the
// alternatives as one object per token mapping text to logprob.
type textLogprobs struct {
	Tokens        []string     `json:"tokens"`
	TokenLogprobs []float64    `json:"token_logprobs"`
	TopLogprobs   []orderedMap `json:"top_logprobs"`
	TextOffset    []int        `json:"text_offset"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// modelList is the answer of GET /models.
type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// errorBody is OpenAI's error document.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// orderedMap is a JSON object of token texts to logprobs that keeps the
// alternatives' order, most likely first, as OpenAI writes it (a Go map
// would be written in key order). A key seen twice keeps its first, more
// likely, entry: an object cannot hold a key twice.
type orderedMap []Alternative

// MarshalJSON implements json.Marshaler.
func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	seen := make(map[string]bool, len(m))
	for _, a := range m {
		// Keys are compared as written: texts that differ only in invalid
		// UTF-8 are both written as U+FFFD.
		k, err := json.Marshal(a.Text)
		if err != nil {
			return nil, err
		}
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		v, err := json.Marshal(a.Logprob)
		if err != nil {
			return nil, fmt.Errorf("logprob of %q: %w", a.Text, err)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// bytesOf returns s's bytes as the JSON array of numbers OpenAI uses.
func bytesOf(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}

// tokenText returns a token's exact text: its bytes when the API sent them
// (the token string cannot hold part of a UTF-8 character), else the string.
func tokenText(token string, bs []int) (string, error) {
	if bs == nil {
		return token, nil
	}
	b := make([]byte, len(bs))
	for i, v := range bs {
		if v < 0 || v > 255 {
			return "", fmt.Errorf("byte value %d outside 0..255", v)
		}
		b[i] = byte(v)
	}
	return string(b), nil
}
