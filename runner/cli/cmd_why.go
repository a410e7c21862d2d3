package cli

import (
	"strings"

	"github.com/bitflow-dev/bitflow/runner"
)

func init() {
	register(&command{
		name:    "why",
		args:    "WORKFLOW STEP",
		summary: "Explain why a step would run: what changed in its key since its last result.",
		help: `Compares the step's key now (with --set applied) against the key of the
last result recorded for a step of that name in this workflow, line by line:
param lr 0.1 -> 0.2; input traces changed; kind train 3 -> 4. When the step's
key cannot be known until an upstream step runs, explains that step instead.
Set BITFLOW_DEBUG=hash on a run to see every key's full manifest.`,
		setup: func(c *ctx) func([]string) error {
			var sets []string
			c.fs.StringArrayVar(&sets, "set", nil, setHelp)
			c.addJSON("print the explanation as JSON")
			return func(args []string) error {
				if len(args) != 2 {
					return usageErr("expected WORKFLOW STEP")
				}
				p, err := plan(args[0], sets, args[1:])
				if err != nil {
					return err
				}
				st, err := c.openStoreToPredict()
				if err != nil {
					return err
				}
				ex, err := runner.Explain(st, p, args[1], nil)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(ex)
				}
				printExplanation(c, ex, "")
				return nil
			}
		},
	})
}

func printExplanation(c *ctx, ex *runner.Explanation, prefix string) {
	switch {
	case ex.Status == runner.WillUseCache:
		c.printf("%s%s: cached (action %s)\n", prefix, ex.Step, short(ex.ActionID))
	case ex.Upstream != nil:
		c.printf("%s%s: would run: its inputs are not known until %s runs\n", prefix, ex.Step, ex.Upstream.Step)
		printExplanation(c, ex.Upstream, prefix+"  ")
	case ex.Previous == "":
		c.printf("%s%s: would run: %s (no earlier result of this step to compare with)\n", prefix, ex.Step, ex.Reason)
	case len(ex.Changes) == 0:
		c.printf("%s%s: would run: %s\n", prefix, ex.Step, ex.Reason)
	default:
		c.printf("%s%s: would run; since its last result (action %s):\n", prefix, ex.Step, short(ex.Previous))
		for _, ch := range ex.Changes {
			c.printf("%s  %s\n", prefix, ch)
		}
	}
}

func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
