package cli

import (
	"fmt"

	"github.com/bitflow-dev/bitflow/explorations"
)

func init() {
	register(&command{
		name:    "sweep",
		args:    "expand FILE",
		summary: "Expand an exploration (sweep) file into its points.",
		help: `An exploration file, in the grammar of nanoGPT's exploration runner, describes
a set of parameter combinations ("points"). 'bitflow sweep expand FILE' prints
them in the reference runner's order, with its names; --json prints exactly
the points array: [{"name": ..., "params": {...}}, ...].

Constructs the reference runner accepts but mishandles (the legacy
conditions: [[key, value]] form, which never matches) are expanded as it
does and reported as warnings.`,
		setup: func(c *ctx) func([]string) error {
			c.addJSON("print the points as a JSON array")
			return func(args []string) error {
				if len(args) != 2 || args[0] != "expand" {
					return usageErr("usage: bitflow sweep expand FILE")
				}
				x, err := explorations.ExpandFile(args[1])
				if err != nil {
					var xe explorations.Errors
					var one *explorations.Error
					if as(err, &xe) || as(err, &one) {
						return &exitError{ExitInvalid, err}
					}
					return usageErr("%v", err)
				}
				for _, d := range x.Defects {
					c.log.Warn().Msg(d.Error())
				}
				if c.json {
					b, err := x.PointsJSON()
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(c.stdout, "%s\n", b)
					return err
				}
				for _, p := range x.Points {
					c.printf("%s\n", p.Name)
				}
				c.printf("%d points\n", len(x.Points))
				return nil
			}
		},
	})
}
