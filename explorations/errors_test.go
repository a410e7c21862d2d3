package explorations

import (
	"errors"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Col: 5, Key: "n", Msg: "bad"}, "f.yaml:3:5: n: bad"},
		{Error{File: "f.yaml", Msg: "bad"}, "f.yaml: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestErrorsList(t *testing.T) {
	es := Errors{{File: "f", Line: 1, Col: 2, Msg: "a"}, {File: "f", Line: 3, Col: 4, Key: "k", Msg: "b"}}
	if got, want := es.Error(), "f:1:2: a\nf:3:4: k: b"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(error(es), &e) || e.Line != 1 {
		t.Errorf("errors.As found %v", e)
	}
}
