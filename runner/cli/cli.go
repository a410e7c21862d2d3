// Package cli is bitflow's command line: subcommands, flags, exit codes and
// rendering. It is the only package that prints.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes (design §7).
const (
	ExitOK      = 0
	ExitFailed  = 1 // a step failed, or the run was interrupted
	ExitUsage   = 2 // bad command line
	ExitInvalid = 3 // invalid workflow or exploration
	ExitStore   = 4 // the store could not be used
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, args...)}
}

func storeErr(err error) error { return &exitError{ExitStore, err} }

// command is one subcommand.
type command struct {
	name    string
	args    string // positional arguments, for the usage line
	summary string
	help    string // longer description
	// noStore leaves out --store, for commands that never use a store.
	noStore bool
	// hidden keeps the command out of the main help (internal commands).
	hidden bool
	// setup registers the command's flags on c (bound to variables of its
	// own, so invocations share nothing) and returns what runs it.
	setup func(c *ctx) func(args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Main runs bitflow with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1 {
		fmt.Fprint(stdout, mainHelp())
		return ExitOK
	}
	if args[0] == "help" {
		args = []string{args[1], "--help"}
	}
	if args[0] == "--version" || args[0] == "-v" {
		args = []string{"version"}
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "bitflow: unknown command %q\n\n%s", args[0], mainHelp())
		return ExitUsage
	}
	c := newCtx(ctx, cmd, stdout, stderr)
	run := cmd.setup(c)
	c.addCommonFlags()
	rest, err := c.parse(args[1:])
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, c.usage())
		return ExitOK
	}
	if err == nil {
		err = run(rest)
	}
	if err == nil {
		return ExitOK
	}
	code := ExitFailed
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if code == ExitUsage {
		c.printUsageError(err)
	} else if !c.reported {
		c.printError(err)
	}
	return code
}

func mainHelp() string {
	var b strings.Builder
	b.WriteString(`bitflow runs declarative workflows of content-hashed steps.

A step whose kind, parameters and input bytes are unchanged is never
recomputed: every result lives in a content-addressed store, a crashed run
resumes where it stopped, and any two runs can be compared.

Usage:
  bitflow COMMAND [ARGS] [FLAGS]

Commands:
`)
	sorted := append([]*command(nil), commands...)
	sort.SliceStable(sorted, func(i, j int) bool { return order(sorted[i].name) < order(sorted[j].name) })
	for _, c := range sorted {
		if c.hidden {
			continue
		}
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run 'bitflow COMMAND --help' for a command's arguments and flags.

The store is ./artifacts unless --store or BITFLOW_STORE says otherwise.
Exit codes: 0 ok, 1 a step failed or the run was interrupted, 2 usage error,
3 invalid workflow, 4 store error.
`)
	return b.String()
}

// order is the display order of commands in help: the workflow first.
func order(name string) int {
	for i, n := range []string{"run", "plan", "why", "validate", "sweep", "runs", "show", "diff", "report", "cat", "export", "gc", "serve", "kinds", "version"} {
		if n == name {
			return i
		}
	}
	return 100
}

// Run is the process entry point used by main.
func Run() int {
	return Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
}
