package teacher

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServe runs Serve for h on 127.0.0.1 with a free port and returns
// its base URL; the server shuts down when the test ends, and must return
// nil then.
func startServe(t *testing.T, h http.Handler) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Serve(ctx, "127.0.0.1:0", h, ServerOptions{OnListen: func(a net.Addr) { addrc <- a }})
	}()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		return "http://" + a.String()
	case err := <-errc:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	return ""
}

// TestServeRefusesRemote: addresses other than loopback are refused before
// anything listens, unless remote access is allowed.
func TestServeRefusesRemote(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:80"} {
		err := Serve(context.Background(), addr, http.NotFoundHandler(), ServerOptions{})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.2:80", "[::1]:0", "localhost:0", "LOCALHOST:1"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := checkLoopback("127.0.0.1"); err == nil {
		t.Error("an address without a port accepted")
	}
}

// TestServeGracefulShutdown: cancelling Serve's context lets a request in
// flight finish with its answer, then Serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc, errc := make(chan net.Addr, 1), make(chan error, 1)
	go func() { errc <- Serve(ctx, "127.0.0.1:0", h, ServerOptions{OnListen: func(a net.Addr) { addrc <- a }}) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr.String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	select {
	case err := <-errc:
		t.Fatalf("serve returned %v with a request in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if s := <-got; s != "done" {
		t.Errorf("request in flight got %q", s)
	}
	if err := <-errc; err != nil {
		t.Errorf("serve: %v", err)
	}
}
