package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/workflows"
)

func init() {
	register(&command{
		name:    "plan",
		args:    "WORKFLOW [STEP...]",
		summary: "Show which steps a run would take from the store and which it would execute, and why.",
		help: `Nothing is executed or changed. A step downstream of one that runs has no
key yet (its inputs are not known until then); it runs unless the upstream
step reproduces its earlier output, in which case it is cached after all.`,
		setup: func(c *ctx) func([]string) error {
			var sets, force []string
			c.fs.StringArrayVar(&sets, "set", nil, setHelp)
			c.fs.StringSliceVar(&force, "force", nil, "plan these steps as forced")
			c.addJSON("print the plan as JSON")
			return func(args []string) error {
				if len(args) == 0 {
					return usageErr("missing WORKFLOW")
				}
				p, err := plan(args[0], sets, args[1:])
				if err != nil {
					return err
				}
				forced, err := forcedSteps(p, force)
				if err != nil {
					return err
				}
				st, err := c.openStoreToPredict()
				if err != nil {
					return err
				}
				statuses, err := runner.Status(st, p, forced)
				if err != nil {
					return storeErr(err)
				}
				if c.json {
					return c.printJSON(map[string]any{"workflow": p.Workflow.Name, "steps": statuses})
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				run := 0
				for _, s := range statuses {
					if s.Status == runner.WillRun {
						run++
						fmt.Fprintf(tw, "%s\t%s\trun (%s)\n", s.Name, s.Kind, s.Reason)
					} else {
						fmt.Fprintf(tw, "%s\t%s\tcached\n", s.Name, s.Kind)
					}
				}
				tw.Flush()
				c.printf("%d of %d steps would run\n", run, len(statuses))
				return nil
			}
		},
	})
	register(&command{
		name:    "validate",
		noStore: true,
		args:    "WORKFLOW",
		summary: "Check a workflow file and report every problem with its file:line:col.",
		help:    `Checks syntax, keys, references, kinds, parameter types (after --set), files and cycles. Exit code 3 if anything is wrong.`,
		setup: func(c *ctx) func([]string) error {
			var sets []string
			c.fs.StringArrayVar(&sets, "set", nil, setHelp)
			c.addJSON("print {\"valid\": bool, \"errors\": [...]} on stdout")
			return func(args []string) error {
				if len(args) != 1 {
					return usageErr("expected one WORKFLOW")
				}
				p, err := plan(args[0], sets, nil)
				if c.json {
					return validateJSON(c, p, err)
				}
				if err != nil {
					return err
				}
				c.printf("%s: ok (workflow %q, %d steps)\n", p.Workflow.File, p.Workflow.Name, len(p.Nodes))
				return nil
			}
		},
	})
}

type errorJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func validateJSON(c *ctx, p *runner.Plan, err error) error {
	out := map[string]any{"valid": err == nil, "errors": []errorJSON{}}
	if err == nil {
		out["workflow"], out["steps"] = p.Workflow.Name, len(p.Nodes)
		return c.printJSON(out)
	}
	var ee *exitError
	if as(err, &ee) && ee.code == ExitUsage {
		return err
	}
	var we workflows.Errors
	var list []errorJSON
	if as(err, &we) {
		for _, e := range we {
			list = append(list, errorJSON{File: e.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg})
		}
	} else {
		list = append(list, errorJSON{Message: strings.TrimSpace(err.Error())})
	}
	out["errors"] = list
	if jerr := c.printJSON(out); jerr != nil {
		return jerr
	}
	c.reported = true
	return err
}
