package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
)

// The results files a sweep stores beside its run record.
const (
	resultsMD   = "results.md"
	resultsCSV  = "results.csv"
	resultsJSON = "results.json"
)

// writeResults builds a finished sweep's results table from what the store
// holds (the same path `bitflow sweep results` takes, so both agree) and
// writes it into the run's directory in the three formats. files maps
// md, csv and json to the paths written.
func writeResults(st *store.Store, run *store.RunLog, rec *store.RunRecord) (*runner.Results, map[string]string, error) {
	sw, err := st.ReadSweep(rec.ID)
	if err != nil {
		return nil, nil, err
	}
	if sw == nil {
		return nil, nil, fmt.Errorf("run %s has no sweep record", rec.ID)
	}
	res, err := runner.SweepResults(st, rec, sw)
	if err != nil {
		return nil, nil, err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files := map[string]string{}
	for _, f := range []struct{ key, name, data string }{
		{"md", resultsMD, markdownTable(res)},
		{"csv", resultsCSV, csvTable(res)},
		{"json", resultsJSON, string(js) + "\n"},
	} {
		if err := run.WriteFile(f.name, []byte(f.data)); err != nil {
			return nil, nil, err
		}
		files[f.key] = filepath.Join(st.RunDir(rec.ID), f.name)
	}
	return res, files, nil
}

// sweepResults is `bitflow sweep results [RUN]`: the table rebuilt from
// the store, newest sweep by default.
func sweepResults(c *ctx, sf *sweepFlags, args []string) error {
	if sf.csv && (sf.md || c.json) || sf.md && c.json {
		return usageErr("choose one of --md, --csv and --json")
	}
	st, err := c.openStore()
	if err != nil {
		return err
	}
	id, err := sweepRunID(st, args)
	if err != nil {
		return err
	}
	rec, err := st.ReadRun(id)
	if err != nil {
		return storeErr(err)
	}
	sw, err := st.ReadSweep(id)
	if err != nil {
		return storeErr(err)
	}
	if sw == nil {
		return usageErr("run %s is not a sweep", id)
	}
	res, err := runner.SweepResults(st, rec, sw)
	if err != nil {
		return storeErr(err)
	}
	switch {
	case c.json:
		return c.printJSON(res)
	case sf.csv:
		c.printf("%s", csvTable(res))
	default:
		c.printf("%s", markdownTable(res))
	}
	return nil
}

// sweepRunID resolves RUN, or finds the newest run that is a sweep.
func sweepRunID(st *store.Store, args []string) (string, error) {
	if len(args) == 1 {
		id, err := st.ResolveRun(args[0])
		if err != nil {
			return "", usageErr("%v", err)
		}
		return id, nil
	}
	ids, err := st.RunIDs()
	if err != nil {
		return "", storeErr(err)
	}
	for _, id := range ids {
		if sw, err := st.ReadSweep(id); err == nil && sw != nil {
			return id, nil
		}
	}
	return "", usageErr("no sweep in %s", st.Root())
}

// tableCells lays the results out as rows of text: point, status, the
// varying params, the metrics. A param a point leaves at the workflow's
// default is `def`; a metric that could not be read is `miss`.
func tableCells(res *runner.Results, def, miss string) (header []string, rows [][]string) {
	header = append(append([]string{"point", "status"}, res.Params...), res.Metrics...)
	for _, r := range res.Rows {
		row := []string{r.Point, r.Status}
		for _, p := range res.Params {
			v, ok := r.Params[p]
			if !ok {
				row = append(row, def)
				continue
			}
			row = append(row, cellText(v))
		}
		for _, m := range res.Metrics {
			v, ok := r.Metrics[m]
			if !ok {
				row = append(row, miss)
				continue
			}
			row = append(row, cellText(v))
		}
		rows = append(rows, row)
	}
	return header, rows
}

// cellText writes a value as a table shows it: strings bare, numbers in
// their shortest form (1e-06, 8), metrics exactly as the step wrote them.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// markdownTable renders the results as a GitHub Markdown table.
func markdownTable(res *runner.Results) string {
	header, rows := tableCells(res, "default", "n/a")
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// csvTable renders the results as CSV (RFC 4180); defaults and missing
// metrics are empty cells.
func csvTable(res *runner.Results) string {
	header, rows := tableCells(res, "", "")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header) // a bytes.Buffer does not fail
	_ = w.WriteAll(rows)
	return b.String()
}
