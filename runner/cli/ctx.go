package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/workflows"
)

var errHelp = pflag.ErrHelp

// ctx is one invocation of a command: its flags, output streams and logger.
type ctx struct {
	context.Context
	cmd    *command
	fs     *pflag.FlagSet
	stdout io.Writer
	stderr io.Writer
	log    zerolog.Logger
	// errLog writes the final error in JSON mode, whatever --log-level;
	// logReady says whether --log-format was understood, so that errors
	// can follow it.
	errLog   zerolog.Logger
	logReady bool

	storeDir  string
	logFormat string
	logLevel  string
	json      bool
	jsonFlag  bool // whether the command has --json

	// reported is set once an error has been shown in full, so Main does
	// not print it again.
	reported bool
}

func newCtx(parent context.Context, cmd *command, stdout, stderr io.Writer) *ctx {
	c := &ctx{Context: parent, cmd: cmd, stdout: stdout, stderr: stderr}
	c.fs = pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	c.fs.SetOutput(io.Discard)
	c.fs.SortFlags = false
	return c
}

// addCommonFlags adds the flags every command has, after its own.
func (c *ctx) addCommonFlags() {
	def := os.Getenv("BITFLOW_STORE")
	if def == "" {
		def = "artifacts"
	}
	if !c.cmd.noStore {
		c.fs.StringVar(&c.storeDir, "store", def, "the store directory (env BITFLOW_STORE)")
	}
	c.fs.StringVar(&c.logFormat, "log-format", "console", "log format on stderr: console or json")
	c.fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// addJSON gives the command a --json flag.
func (c *ctx) addJSON(what string) {
	c.jsonFlag = true
	c.fs.BoolVar(&c.json, "json", false, what)
}

func (c *ctx) parse(args []string) ([]string, error) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, errHelp
		}
		_ = c.setupLog() // so that the usage error follows --log-format if it was read
		return nil, usageErr("%v", err)
	}
	if err := c.setupLog(); err != nil {
		return nil, err
	}
	return c.fs.Args(), nil
}

func (c *ctx) setupLog() error {
	lvl, err := zerolog.ParseLevel(c.logLevel)
	if err != nil || c.logLevel == "" {
		return usageErr("--log-level %q: use debug, info, warn or error", c.logLevel)
	}
	var w io.Writer
	switch c.logFormat {
	case "json":
		w = c.stderr
	case "console":
		w = zerolog.ConsoleWriter{Out: c.stderr, NoColor: !isTerminal(c.stderr), TimeFormat: "15:04:05"}
	default:
		return usageErr("--log-format %q: use console or json", c.logFormat)
	}
	c.log = zerolog.New(w).Level(lvl).With().Timestamp().Logger()
	c.errLog = zerolog.New(w).With().Timestamp().Logger()
	c.logReady = true
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (c *ctx) usage() string {
	var b strings.Builder
	line := "bitflow " + c.cmd.name
	if c.cmd.args != "" {
		line += " " + c.cmd.args
	}
	fmt.Fprintf(&b, "Usage: %s [FLAGS]\n\n%s\n", line, c.cmd.summary)
	if c.cmd.help != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.cmd.help))
	}
	fmt.Fprintf(&b, "\nFlags:\n%s", flagUsages(c.fs))
	return b.String()
}

// flagUsages lists flags as `  -j, --jobs N   text (default 2)`, aligned.
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, right string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		name, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" {
			if name == "" || name == "string" || name == "stringArray" || name == "strings" {
				name = "VALUE"
			}
			left += " " + strings.ToUpper(name)
		}
		switch f.Value.Type() {
		case "bool":
		case "stringArray", "stringSlice":
			if f.DefValue != "[]" {
				usage += " (default " + f.DefValue + ")"
			}
		default:
			if f.DefValue != "" && f.DefValue != "0" {
				usage += " (default " + f.DefValue + ")"
			}
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, r.right)
	}
	return b.String()
}

// openStore opens the store named by --store, creating it if needed: for
// commands that put results in it.
func (c *ctx) openStore() (*store.Store, error) {
	s, err := store.Open(c.storeDir)
	if err != nil {
		return nil, storeErr(err)
	}
	s.Warn = func(msg string) { c.log.Warn().Msg(msg) }
	return s, nil
}

// openExistingStore opens the store named by --store for a command that
// only reads or prunes it. It creates nothing: a path without a store (a
// typo in --store) is a store error that names it.
func (c *ctx) openExistingStore() (*store.Store, error) {
	s, err := store.OpenExisting(c.storeDir)
	if errors.Is(err, store.ErrNoStore) {
		return nil, storeErr(fmt.Errorf("%w: check --store or BITFLOW_STORE (`bitflow run` creates a store)", err))
	}
	if err != nil {
		return nil, storeErr(err)
	}
	s.Warn = func(msg string) { c.log.Warn().Msg(msg) }
	return s, nil
}

// openStoreToPredict opens the store for `plan` and `why`: like
// openExistingStore, except that a store that does not exist yet predicts
// a first run (every step runs) instead of failing.
func (c *ctx) openStoreToPredict() (*store.Store, error) {
	s, err := store.OpenExisting(c.storeDir)
	if errors.Is(err, store.ErrNoStore) {
		c.log.Warn().Msgf("%v: nothing is cached", err)
		return store.Missing(c.storeDir), nil
	}
	if err != nil {
		return nil, storeErr(err)
	}
	s.Warn = func(msg string) { c.log.Warn().Msg(msg) }
	return s, nil
}

// printJSON writes v as indented JSON on stdout.
func (c *ctx) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printf writes human output on stdout.
func (c *ctx) printf(format string, args ...any) {
	fmt.Fprintf(c.stdout, format, args...)
}

// printError shows an error on stderr: workflow errors with their source
// line and a caret, others as one line. With --log-format json it is one
// JSON log line instead, like everything else on stderr.
func (c *ctx) printError(err error) {
	if c.jsonLogs() {
		c.logError(err, "")
		return
	}
	fmt.Fprintf(c.stderr, "bitflow %s: %s\n", c.cmd.name, renderError(err))
}

// printUsageError shows a command-line error and where to find the usage.
func (c *ctx) printUsageError(err error) {
	hint := fmt.Sprintf("Run 'bitflow %s --help' for usage.", c.cmd.name)
	if c.jsonLogs() {
		c.logError(err, hint)
		return
	}
	fmt.Fprintf(c.stderr, "bitflow %s: %v\n%s\n", c.cmd.name, err, hint)
}

func (c *ctx) jsonLogs() bool { return c.logReady && c.logFormat == "json" }

// logError writes an error as one JSON log line: the message is what the
// console shows first, the error field holds all of it, and workflow
// errors are listed one by one under "problems".
func (c *ctx) logError(err error, hint string) {
	l := c.errLog.Error().Str("command", c.cmd.name)
	var we workflows.Errors
	if errors.As(err, &we) {
		problems := make([]string, len(we))
		for i, e := range we {
			problems[i] = e.Error()
		}
		l = l.Strs("problems", problems)
	}
	if hint != "" {
		l = l.Str("hint", hint)
	}
	head, _, _ := strings.Cut(renderError(err), "\n")
	l.Err(err).Msg("bitflow " + c.cmd.name + ": " + head)
}

func since(t time.Time) string {
	return fmtDuration(time.Since(t))
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// as is errors.As, shorter at call sites that test several types.
func as(err error, target any) bool { return errors.As(err, target) }
