package teacher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// DefaultAddr is where Serve listens when given no address: loopback only.
const DefaultAddr = "127.0.0.1:8080"

// Serve serves h on addr (DefaultAddr if empty) until ctx ends, then shuts
// down gracefully: it stops accepting, lets requests in flight finish for
// opts.ShutdownGrace, closes what remains, and returns nil. It refuses an
// address that is not loopback (an IP literal such as 127.0.0.1 or ::1, or
// localhost) unless opts.AllowRemote, before listening, and checks the bound
// address again after.
func Serve(ctx context.Context, addr string, h http.Handler, opts ServerOptions) error {
	opts = opts.withDefaults()
	if addr == "" {
		addr = DefaultAddr
	}
	if !opts.AllowRemote {
		if err := checkLoopback(addr); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if ap, ok := ln.Addr().(*net.TCPAddr); !opts.AllowRemote && (!ok || !ap.IP.IsLoopback()) {
		ln.Close()
		return fmt.Errorf("serve: %s resolved to %v, which is not a loopback address", addr, ln.Addr())
	}
	srv := &http.Server{
		Handler: h,
		// Bounds on a slow client; no write timeout, as a long generation
		// is a legitimate slow answer.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if opts.OnListen != nil {
		opts.OnListen(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// The grace period is over: cut the remaining connections, which
		// cancels their requests' contexts.
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// checkLoopback accepts host:port whose host is localhost or a loopback IP.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err == nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return fmt.Errorf("refusing to listen on %s (%q): not a loopback address, and the server has no authentication; use 127.0.0.1 or allow remote access explicitly", host, addr)
}
