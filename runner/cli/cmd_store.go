package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/bitflow-dev/bitflow/internal/version"
	"github.com/bitflow-dev/bitflow/steps"
)

func init() {
	register(&command{
		name:    "gc",
		summary: "Delete everything in the store not reachable from the newest runs.",
		help: `Keeps the newest --keep runs and what they reach: their action records,
the objects those name (files inside directory outputs included), logs, and
the resumable progress of steps they had started. Removes the rest, plus
scratch files, quarantined objects and lock files. Waits for running
bitflows to finish first, and none can start while it works.`,
		setup: func(c *ctx) func([]string) error {
			var keep int
			var dry bool
			c.fs.IntVar(&keep, "keep", 10, "how many of the newest runs to keep")
			c.fs.BoolVar(&dry, "dry-run", false, "only report what would be removed")
			c.addJSON("print the report as JSON")
			return func(args []string) error {
				if len(args) != 0 {
					return usageErr("gc takes no arguments")
				}
				if keep < 0 {
					return usageErr("--keep must be 0 or more")
				}
				// gc must not create a store at a mistyped path; an
				// existing one is opened in full (it needs its locks).
				if _, err := c.openExistingStore(); err != nil {
					return err
				}
				st, err := c.openStore()
				if err != nil {
					return err
				}
				rep, err := st.GC(c, keep, dry, func() { c.log.Info().Msg("waiting for running bitflows to finish") })
				if err != nil {
					return storeErr(err)
				}
				if c.json {
					return c.printJSON(rep)
				}
				verb := "removed"
				if dry {
					verb = "would remove"
				}
				c.printf("kept %d runs, %d actions, %d objects; %s %d runs, %d actions, %d objects, %d partial results (%s)\n",
					rep.KeptRuns, rep.KeptActions, rep.KeptObjects, verb, rep.RemovedRuns, rep.RemovedActions, rep.RemovedObjects, rep.RemovedPartial, humanBytes(rep.FreedBytes))
				return nil
			}
		},
	})
	register(&command{
		name:    "kinds",
		noStore: true,
		args:    "[KIND]",
		summary: "List the built-in step kinds, or document one: its params, inputs and outputs.",
		setup: func(c *ctx) func([]string) error {
			c.addJSON("print the schemas as JSON")
			return func(args []string) error {
				names := registry.Names()
				if len(args) > 0 {
					for _, a := range args {
						if _, ok := registry.Get(a); !ok {
							return usageErr("no kind %q (kinds: %s)", a, strings.Join(names, ", "))
						}
					}
					names = args
				}
				if c.json {
					out := []kindJSON{}
					for _, n := range names {
						k, _ := registry.Get(n)
						out = append(out, toKindJSON(k))
					}
					return c.printJSON(out)
				}
				for i, n := range names {
					if i > 0 {
						c.printf("\n")
					}
					k, _ := registry.Get(n)
					printKind(c, k, len(args) > 0)
				}
				return nil
			}
		},
	})
	register(&command{
		name:    "version",
		noStore: true,
		summary: "Print bitflow's version.",
		setup: func(c *ctx) func([]string) error {
			c.addJSON("print the version as JSON")
			return func([]string) error {
				if c.json {
					return c.printJSON(map[string]string{"version": version.String(), "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
				}
				c.printf("bitflow %s (%s, %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			}
		},
	})
}

type kindJSON struct {
	Kind    string       `json:"kind"`
	Version string       `json:"version"`
	Doc     string       `json:"doc"`
	Params  []paramJSON  `json:"params"`
	Inputs  []steps.Port `json:"inputs"`
	Outputs []steps.Port `json:"outputs"`
}

type paramJSON struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Default  any      `json:"default,omitempty"`
	Required bool     `json:"required,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Doc      string   `json:"doc"`
}

func toKindJSON(k steps.Step) kindJSON {
	sc := k.Params()
	out := kindJSON{Kind: k.Kind(), Version: k.Version(), Doc: sc.Doc, Params: []paramJSON{}, Inputs: sc.Inputs, Outputs: sc.Outputs}
	if out.Inputs == nil {
		out.Inputs = []steps.Port{}
	}
	if out.Outputs == nil {
		out.Outputs = []steps.Port{}
	}
	for _, p := range sc.Params {
		out.Params = append(out.Params, paramJSON{p.Name, string(p.Type), p.Default, p.Required, p.Enum, p.Doc})
	}
	return out
}

func printKind(c *ctx, k steps.Step, full bool) {
	sc := k.Params()
	c.printf("%s (version %s)\n", k.Kind(), k.Version())
	c.printf("%s\n", wrap(sc.Doc, 78, "  "))
	if !full && len(sc.Params) > 8 {
		c.printf("  %d params; `bitflow kinds %s` lists them\n", len(sc.Params), k.Kind())
		return
	}
	if len(sc.Params) > 0 {
		c.printf("  params:\n")
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, p := range sc.Params {
			def := "(required)"
			if !p.Required {
				def = "-"
				if p.Default != nil {
					b, _ := json.Marshal(p.Default)
					def = string(b)
				}
			}
			typ := string(p.Type)
			if len(p.Enum) > 0 {
				typ = strings.Join(p.Enum, "|")
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", p.Name, typ, def, p.Doc)
		}
		tw.Flush()
	}
	for _, ports := range []struct {
		title string
		list  []steps.Port
	}{{"inputs", sc.Inputs}, {"outputs", sc.Outputs}} {
		if len(ports.list) == 0 {
			continue
		}
		c.printf("  %s:\n", ports.title)
		for _, p := range ports.list {
			opt := ""
			if p.Optional {
				opt = " (optional)"
			}
			c.printf("    %s%s: %s\n", p.Name, opt, p.Doc)
		}
	}
}

// wrap breaks text into lines of at most width characters, indented.
func wrap(text string, width int, prefix string) string {
	var b strings.Builder
	line := prefix
	for _, w := range strings.Fields(text) {
		if len(line)+len(w)+1 > width && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
			line = prefix
		}
		if strings.TrimSpace(line) != "" {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}
