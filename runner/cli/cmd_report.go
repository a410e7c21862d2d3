package cli

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/bitflow-dev/bitflow/runner/report"
	"github.com/bitflow-dev/bitflow/runner/store"
)

func init() {
	register(&command{
		name:    "report",
		args:    "RUN|SWEEP",
		summary: "Write one self-contained HTML report of a run or a sweep, with plots.",
		help: `RUN is a run ID prefix or "latest"; a sweep is the run 'bitflow sweep' made.
The page holds the run's header (workflow, status, params, times), its steps
(kind, status, action ID, duration), for a sweep a table of the points (the
params that vary and the exploration's report: metrics), two plots, and the
key reports (the eval report's qei_metrics and quality, the baseline's
metrics). It needs nothing else: CSS and plots (SVG) are inside it.

The plots:
  quality against total bits   one marker per point, coloured by the varying
                               param with the fewest values. Quality is the
                               eval report's qei_metrics.student_quality (or
                               the sweep's first report: metric, or --quality).
                               Total bits is the total_bits the student's
                               training logs (adaptive layers) when every point
                               has it, else the eval report's packed_bytes x 8.
  loss curves                  training loss against step, one line per point.

A plain run is reported as one point. Report metrics name STEP.OUTPUT and a
path into its JSON (eval.report.qei_metrics.qei); for JSONL outputs such as
training metrics, the last line holding the key (student.metrics.loss).

Examples:
  bitflow report latest                      # report-<id>.html here
  bitflow report 01965f2a -o sweep.html      # a run by ID prefix
  bitflow report latest --plots plots/       # also plots/*.png and *.svg
  bitflow report latest --quality eval.report.qei_metrics.qei`,
		setup: func(c *ctx) func([]string) error {
			var out, plots, quality string
			c.fs.StringVarP(&out, "output", "o", "", "write the HTML here (default report-<short id>.html)")
			c.fs.StringVar(&plots, "plots", "", "also write the plots into this directory as PNG and SVG")
			c.fs.StringVar(&quality, "quality", "", "the metric plotted against total bits (STEP.OUTPUT.json.path)")
			c.addJSON("print the report's data (points, metrics, where files went) as JSON")
			return func(args []string) error {
				if len(args) != 1 {
					return usageErr("expected one RUN or SWEEP (an ID prefix or latest)")
				}
				if quality != "" {
					if _, err := report.ParseMetric(quality); err != nil {
						return usageErr("--quality: %v", err)
					}
				}
				st, err := c.openExistingStore()
				if err != nil {
					return err
				}
				id, err := st.ResolveRun(args[0])
				if err != nil {
					return usageErr("%v", err)
				}
				return writeReport(c, st, id, out, plots, quality)
			}
		},
	})
}

func writeReport(c *ctx, st *store.Store, id, out, plots, quality string) error {
	r, err := report.Load(st, id, report.Options{Quality: quality})
	if err != nil {
		return storeErr(err)
	}
	figs, err := report.Figures(r)
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := report.HTML(&page, r, figs); err != nil {
		return err
	}
	if out == "" {
		out = "report-" + report.ShortID(id) + ".html"
	}
	if err := os.WriteFile(out, page.Bytes(), 0o644); err != nil {
		return err
	}
	files := []string{}
	if plots != "" {
		if err := os.MkdirAll(plots, 0o755); err != nil {
			return err
		}
		for _, f := range figs {
			for _, w := range []struct {
				ext  string
				data []byte
			}{{".png", f.PNG}, {".svg", f.SVG}} {
				p := filepath.Join(plots, f.Name+w.ext)
				if err := os.WriteFile(p, w.data, 0o644); err != nil {
					return err
				}
				files = append(files, p)
			}
		}
	}
	for _, n := range r.Notes {
		c.log.Debug().Msg(n)
	}
	if c.json {
		return c.printJSON(struct {
			HTML  string   `json:"html"`
			Plots []string `json:"plots"`
			*report.Report
		}{out, files, r})
	}
	c.printf("wrote %s\n", out)
	for _, f := range files {
		c.printf("wrote %s\n", f)
	}
	if len(r.Notes) > 0 {
		c.log.Warn().Msgf("%d figures could not be read (see the report's notes)", len(r.Notes))
	}
	return nil
}
