package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
)

func init() {
	register(&command{
		name:    "runs",
		summary: "List the runs in the store, newest first.",
		help:    `Run IDs are time-ordered UUIDs; other commands accept a unique prefix, or "latest".`,
		setup: func(c *ctx) func([]string) error {
			var n int
			var wf string
			c.fs.IntVarP(&n, "limit", "n", 20, "show at most this many runs (0: all)")
			c.fs.StringVar(&wf, "workflow", "", "only runs of this workflow (by name)")
			c.addJSON("print the runs as a JSON list")
			return func(args []string) error {
				if len(args) != 0 {
					return usageErr("runs takes no arguments")
				}
				st, err := c.openExistingStore()
				if err != nil {
					return err
				}
				ids, err := st.RunIDs()
				if err != nil {
					return storeErr(err)
				}
				var recs []*store.RunRecord
				for _, id := range ids {
					if n > 0 && len(recs) >= n {
						break
					}
					rec, err := st.ReadRun(id)
					if err != nil || (wf != "" && rec.Workflow != wf) {
						continue
					}
					recs = append(recs, rec)
				}
				if c.json {
					type runSummary struct {
						ID       string         `json:"run_id"`
						Workflow string         `json:"workflow"`
						Status   string         `json:"status"`
						Started  time.Time      `json:"started"`
						Duration float64        `json:"duration_s,omitempty"`
						Counts   map[string]int `json:"counts"`
					}
					out := []runSummary{}
					for _, r := range recs {
						out = append(out, runSummary{r.ID, r.Workflow, r.Status, r.Started, runDuration(r).Seconds(), stepCounts(r)})
					}
					return c.printJSON(out)
				}
				if len(recs) == 0 {
					c.printf("no runs in %s\n", st.Root())
					return nil
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RUN\tSTARTED\tWORKFLOW\tSTATUS\tSTEPS\tTOOK")
				for _, r := range recs {
					took := ""
					if d := runDuration(r); d > 0 {
						took = fmtDuration(d)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"), r.Workflow, r.Status, summarize(stepCounts(r)), took)
				}
				return tw.Flush()
			}
		},
	})
	register(&command{
		name:    "show",
		args:    "RUN [STEP]",
		summary: "Show a run's steps, or one step's key, outputs and log.",
		help: `RUN is a run ID, a unique prefix of one, or "latest". With STEP, shows the
step's action: its manifest (every line that went into its key), outputs with
digests and sizes, metrics and producer; --log prints the step's log.`,
		setup: func(c *ctx) func([]string) error {
			var showLog bool
			c.fs.BoolVar(&showLog, "log", false, "print the step's log (stdout and stderr of a run: step)")
			c.addJSON("print the run or step record as JSON")
			return func(args []string) error {
				if len(args) < 1 || len(args) > 2 {
					return usageErr("expected RUN [STEP]")
				}
				st, err := c.openExistingStore()
				if err != nil {
					return err
				}
				id, err := st.ResolveRun(args[0])
				if err != nil {
					return usageErr("%v", err)
				}
				rec, err := st.ReadRun(id)
				if err != nil {
					return storeErr(err)
				}
				if len(args) == 1 {
					return showRun(c, rec)
				}
				return showStep(c, st, rec, args[1], showLog)
			}
		},
	})
}

func runDuration(r *store.RunRecord) time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

func stepCounts(r *store.RunRecord) map[string]int {
	m := map[string]int{}
	for _, s := range r.Steps {
		m[s.Status]++
	}
	return m
}

func showRun(c *ctx, r *store.RunRecord) error {
	if c.json {
		return c.printJSON(r)
	}
	c.printf("run       %s\nworkflow  %s (%s)\nstatus    %s\nstarted   %s\n", r.ID, r.Workflow, r.File, r.Status, r.Started.Local().Format(time.RFC3339))
	if d := runDuration(r); d > 0 {
		c.printf("took      %s\n", fmtDuration(d))
	}
	if len(r.Sets) > 0 {
		c.printf("set       %s\n", strings.Join(r.Sets, " "))
	}
	if len(r.Targets) > 0 {
		c.printf("targets   %s\n", strings.Join(r.Targets, " "))
	}
	c.printf("\n")
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tKIND\tSTATUS\tACTION\tTOOK\tNOTE")
	for _, s := range r.Steps {
		note := s.Reason
		if s.Error != "" {
			note = s.Error
		}
		took := ""
		if s.Duration > 0 {
			took = fmtDuration(time.Duration(s.Duration * float64(time.Second)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.Status, short(s.ActionID), took, firstLineOf(note))
	}
	return tw.Flush()
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func showStep(c *ctx, st *store.Store, r *store.RunRecord, name string, showLog bool) error {
	var sr *store.StepRecord
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			sr = &r.Steps[i]
		}
	}
	if sr == nil {
		names := make([]string, len(r.Steps))
		for i, s := range r.Steps {
			names[i] = s.Name
		}
		return usageErr("run %s has no step %q (its steps: %s)", short(r.ID), name, strings.Join(names, ", "))
	}
	var act *store.ActionRecord
	if sr.ActionID != "" {
		act, _ = st.ReadAction(sr.ActionID)
	}
	if showLog {
		lg := sr.Log
		if lg == nil && act != nil {
			lg = act.Log
		}
		if lg == nil {
			fmt.Fprintf(c.stderr, "step %s has no log\n", name)
			return nil
		}
		b, err := st.ReadObject(lg.Digest)
		if err != nil {
			return storeErr(err)
		}
		_, err = c.stdout.Write(b)
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"step": sr, "action": act})
	}
	c.printf("step      %s (%s)\nstatus    %s\n", sr.Name, sr.Kind, sr.Status)
	if sr.Reason != "" {
		c.printf("reason    %s\n", sr.Reason)
	}
	if sr.Error != "" {
		c.printf("error     %s\n", sr.Error)
	}
	if sr.ActionID != "" {
		c.printf("action    %s\n", sr.ActionID)
	}
	outs := sr.Outputs
	if len(outs) > 0 {
		c.printf("outputs\n")
		names := make([]string, 0, len(outs))
		for k := range outs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			o := outs[k]
			c.printf("  %-12s %s  %s %s\n", k, o.Digest, o.Type, humanBytes(o.Size))
		}
	}
	if act == nil {
		if sr.ActionID != "" {
			c.printf("(no action record: the step did not complete)\n")
		}
		return nil
	}
	c.printf("computed  %s by run %s on %s (%s)\n", act.Started.Local().Format(time.RFC3339), act.Producer.RunID, act.Producer.Host, fmtDuration(time.Duration(act.Duration*float64(time.Second))))
	if len(act.Metrics) > 0 {
		c.printf("metrics\n")
		for _, k := range sortedKeysF(act.Metrics) {
			c.printf("  %-24s %g\n", k, act.Metrics[k])
		}
	}
	c.printf("manifest\n%s", indent(strings.TrimRight(act.Manifest, "\n"), "  ")+"\n")
	if act.Log != nil {
		c.printf("log       %s (bitflow show %s %s --log)\n", humanBytes(act.Log.Size), short(r.ID), name)
	}
	return nil
}

func sortedKeysF(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
