package cli

import (
	"fmt"
	"runtime"

	"github.com/bitflow-dev/bitflow/explorations"
)

// sweepFlags are the flags of every form of `bitflow sweep`; each form
// uses its own.
type sweepFlags struct {
	jobs     int
	cpus     int
	failFast bool
	workflow string
	csv, md  bool
	exec     execFlags
}

func init() {
	register(&command{
		name:    "sweep",
		args:    "FILE | expand FILE | results [RUN]",
		summary: "Run an exploration (sweep) as one DAG, expand it, or show its results.",
		help: `An exploration file, in the grammar of nanoGPT's exploration runner, describes
a set of parameter combinations ("points"); FILE may also name a shipped
exploration. Its key workflow: names the workflow the points run (a path
relative to the file, or a shipped workflow's name; --workflow overrides it)
and report: the metrics to tabulate (STEP.OUTPUT.json.path, e.g.
eval.report.qei_metrics.qei; from a JSON-lines output, the last line that
has the key).

'bitflow sweep FILE' applies each point's params to the workflow (a param
the workflow lacks is an error) and runs all points as one DAG: a step that
is the same for several points (the teacher, the traces) runs once. Step
names in the run record are the workflow's for steps every point shares,
STEP@POINT otherwise. Running it again executes only what has not
succeeded: interrupted and failed points are continued or retried. Points
whose names collide get a short hash suffix. A failed point does not stop
the others (--fail-fast does). At the end the results table (the params
that vary plus the report metrics) is printed and stored beside the run
record as results.md, results.csv and results.json, with sweep.json saying
which run steps compute which point. With --executor slurm the steps run as
Slurm jobs (see 'bitflow run --help'); the points' copies of a step form one
job array, at most --max-parallel tasks at once. With --json, stdout gets one object:
  {"run_id", "status", "points": [{"name", "id", "status", "params"}], "results"}

'bitflow sweep expand FILE' prints the points in the reference runner's
order, with its names; --json prints exactly the points array:
[{"name": ..., "params": {...}}, ...]. Constructs the reference runner
accepts but mishandles (the legacy conditions: [[key, value]] form, which
never matches) are expanded as it does and reported as warnings; a sweep
refuses them.

'bitflow sweep results [RUN]' prints a sweep's results table again (the
newest sweep's without RUN): Markdown, or --csv, or --json.

Examples:
  bitflow sweep explorations/bit_balanced_small.yaml -j 2
  bitflow sweep bit_balanced_vs_cross_entropy --executor slurm --max-parallel 16
  bitflow sweep expand bit_balanced_vs_cross_entropy --json
  bitflow sweep results latest --csv > results.csv`,
		setup: func(c *ctx) func([]string) error {
			sf := &sweepFlags{}
			c.fs.IntVarP(&sf.jobs, "jobs", "j", runtime.NumCPU(), "sweep: how many steps may run at once")
			c.fs.IntVar(&sf.cpus, "cpus", 0, "sweep: CPU slots shared by running steps (default: --jobs)")
			c.fs.BoolVar(&sf.failFast, "fail-fast", false, "sweep: start no new step after a failure")
			c.fs.StringVar(&sf.workflow, "workflow", "", "sweep: run this workflow instead of the exploration's workflow:")
			c.fs.BoolVar(&sf.csv, "csv", false, "results: print the table as CSV")
			c.fs.BoolVar(&sf.md, "md", false, "results: print the table as Markdown (the default)")
			sf.exec.add(c.fs, "sweep: ")
			c.addJSON("print the points (expand), the sweep (sweep) or the table (results) as JSON")
			return func(args []string) error {
				switch {
				case len(args) == 2 && args[0] == "expand":
					return sweepExpand(c, args[1])
				case len(args) <= 2 && len(args) > 0 && args[0] == "results":
					return sweepResults(c, sf, args[1:])
				case len(args) == 1:
					return sweepRun(c, sf, args[0])
				}
				return usageErr("usage: bitflow sweep FILE | expand FILE | results [RUN]")
			}
		},
	})
}

func sweepExpand(c *ctx, file string) error {
	x, err := expandExploration(file)
	if err != nil {
		return err
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

// expandExploration expands an exploration file, or a shipped exploration
// by name when no such file exists.
func expandExploration(ref string) (*explorations.Exploration, error) {
	x, err := explorations.ExpandFile(ref)
	if isNotExist(err) {
		if data, name, ok := explorations.Shipped(ref); ok {
			x, err = explorations.Expand(name, data)
		} else {
			return nil, usageErr("exploration %s: no such file (shipped explorations: %s)", ref, joinNames(explorations.ShippedNames()))
		}
	}
	if err != nil {
		var xe explorations.Errors
		var one *explorations.Error
		if as(err, &xe) || as(err, &one) {
			return nil, &exitError{ExitInvalid, err}
		}
		return nil, usageErr("%v", err)
	}
	return x, nil
}
