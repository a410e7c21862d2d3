// Package corpus is the `corpus` step kind: the prompt/answer records the
// pipeline trains and evaluates on, split into train, val and test JSONL
// files. Records are generated (task json-records: prompts stating a
// record, answers giving it as JSON) or read from the step's files (task
// files: plain text or JSONL).
package corpus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// Kind is the corpus kind.
type Kind struct{}

// Tasks.
const (
	TaskJSONRecords = "json-records"
	TaskFiles       = "files"
)

// Outputs, one JSONL file of records each.
const (
	OutputTrain = "train"
	OutputVal   = "val"
	OutputTest  = "test"
)

// Random streams of a seed.
const (
	streamGenerate = 1
	streamSplit    = 2
)

// Kind implements steps.Step.
func (Kind) Kind() string { return "corpus" }

// Version implements steps.Step.
func (Kind) Version() string { return "1" }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	schemaList := make([]any, len(schemaNames))
	for i, s := range schemaNames {
		schemaList[i] = s
	}
	return steps.Schema{
		Doc: "The prompt/answer records of the pipeline, as train, val and test JSONL files (one " +
			`{"prompt": ..., "answer": ...} per line). task json-records generates records from seed: a prompt ` +
			`states a record ("Record user 417: name Alice, age 31, city Lyon, tags admin beta") and the answer is ` +
			`that record as compact JSON ({"id":417,"name":"Alice","age":31,"city":"Lyon","tags":["admin","beta"]}); ` +
			"schemas user, order (items, nested address), event (nested location, attendees) and product (decimals, " +
			"booleans, null); the prompt states fields in a drawn order. task files reads the step's files: " +
			"*.jsonl files of records with prompt and answer, and any other file as UTF-8 plain text for language " +
			"modelling, one record per paragraph, line or file (text_unit) with an empty prompt and the text as answer. " +
			"Records are split by seed: test first, then val, the rest is train.",
		Params: []steps.Param{
			{Name: "task", Type: steps.String, Default: TaskJSONRecords, Enum: []string{TaskJSONRecords, TaskFiles},
				Doc: "json-records: generate records; files: read the step's files"},
			{Name: "seed", Type: steps.Int, Default: int64(1), Doc: "seed of the generated records and of the split"},
			{Name: "examples", Type: steps.Int, Default: int64(2000), Doc: "json-records: how many records to generate (all distinct prompts)"},
			{Name: "val_fraction", Type: steps.Float, Default: 0.1, Doc: "share of the records in val (rounded; at least one record if above 0)"},
			{Name: "test_fraction", Type: steps.Float, Default: 0.1, Doc: "share of the records in test (rounded; at least one record if above 0)"},
			{Name: "schemas", Type: steps.List, Default: schemaList, Doc: "json-records: the record schemas to draw from, uniformly (user, order, event, product)"},
			{Name: "answer_order", Type: steps.String, Default: orderCanonical, Enum: []string{orderCanonical, orderPrompt},
				Doc: "json-records: canonical: answers list fields in the schema's order (id first); prompt: in the order the prompt states them"},
			{Name: "text_unit", Type: steps.String, Default: unitParagraph, Enum: []string{unitParagraph, unitLine, unitFile},
				Doc: "files: what one record of a plain-text file is: a paragraph (lines up to a blank line), a non-blank line, or the whole file"},
		},
		Outputs: []steps.Port{
			{Name: OutputTrain, Doc: "the training records (JSONL)"},
			{Name: OutputVal, Doc: "the validation records (JSONL)"},
			{Name: OutputTest, Doc: "the test records (JSONL)"},
		},
	}
}

// Run implements steps.Step.
func (Kind) Run(ctx context.Context, env *steps.Env, _ steps.Inputs, out steps.Outputs) error {
	p := env.Params
	valF, testF := p.Float("val_fraction"), p.Float("test_fraction")
	if valF < 0 || testF < 0 || valF+testF >= 1 {
		return fmt.Errorf("val_fraction %v and test_fraction %v: each must be at least 0 and together below 1", valF, testF)
	}
	var recs []records.Record
	var err error
	switch p.String("task") {
	case TaskJSONRecords:
		recs, err = generateParams(ctx, p)
	case TaskFiles:
		recs, err = readFiles(ctx, env.Files, p.String("text_unit"))
		if err == nil {
			// Files hold records in whatever order their authors wrote; the
			// split draws a random one (generated records are random already).
			r := newRNG(int64(p.Int("seed")), streamSplit)
			r.shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		}
	}
	if err != nil {
		return err
	}
	train, val, test, err := split(recs, valF, testF)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		recs []records.Record
	}{{OutputTrain, train}, {OutputVal, val}, {OutputTest, test}} {
		if err := writeRecords(out.Path(s.name), s.recs); err != nil {
			return fmt.Errorf("output %s: %w", s.name, err)
		}
	}
	env.Metric(map[string]float64{"records_train": float64(len(train)), "records_val": float64(len(val)), "records_test": float64(len(test))})
	env.Report(steps.Progress{Done: float64(len(recs)), Total: float64(len(recs)), Unit: "records"})
	return nil
}

// generateParams runs the json-records generator with the step's params.
func generateParams(ctx context.Context, p steps.Values) ([]records.Record, error) {
	var names []string
	for _, v := range p.List("schemas") {
		name, ok := v.(string)
		if _, known := schemas[name]; !ok || !known {
			return nil, fmt.Errorf("schemas: %v is not one of %v", v, schemaNames)
		}
		names = append(names, name)
	}
	return Generate(ctx, int64(p.Int("seed")), p.Int("examples"), names, p.String("answer_order") == orderPrompt)
}

// split cuts recs into train, val and test: test takes the first
// round(n*testF) records, val the next round(n*valF), train the rest. A
// split whose fraction is above 0 gets at least one record; train must
// keep one.
func split(recs []records.Record, valF, testF float64) (train, val, test []records.Record, err error) {
	n := len(recs)
	count := func(f float64) int {
		k := int(math.Round(float64(n) * f))
		if f > 0 && k == 0 {
			k = 1
		}
		return k
	}
	nTest, nVal := count(testF), count(valF)
	if n-nTest-nVal < 1 {
		return nil, nil, nil, fmt.Errorf("%d records leave none for train after %d for test and %d for val", n, nTest, nVal)
	}
	return recs[nTest+nVal:], recs[nTest : nTest+nVal], recs[:nTest], nil
}

// writeRecords writes a JSONL file of records.
func writeRecords(path string, recs []records.Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := records.Encode(f, recs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Answer orders.
const (
	orderCanonical = "canonical"
	orderPrompt    = "prompt"
)

// Generate returns n json-records records with distinct prompts, drawn from
// seed: each picks a schema of names uniformly, then an id and the
// schema's fields. promptOrder makes answers list fields in the prompt's
// order.
func Generate(ctx context.Context, seed int64, n int, names []string, promptOrder bool) ([]records.Record, error) {
	if n < 1 {
		return nil, fmt.Errorf("examples: %d, expected at least 1", n)
	}
	if len(names) == 0 {
		return nil, errors.New("schemas: empty; expected some of " + fmt.Sprint(schemaNames))
	}
	names = slices.Clone(names)
	g := &generator{r: newRNG(seed, streamGenerate), promptOrder: promptOrder}
	seen := make(map[string]bool, n)
	out := make([]records.Record, 0, n)
	// Duplicates are rare (ids go up to 99999); the bound only stops a
	// request for more distinct records than the schemas can make.
	for tries := 0; len(out) < n; tries++ {
		if tries%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if tries > 4*n+1000 {
			return nil, fmt.Errorf("examples: could not draw %d distinct records", n)
		}
		name := pick(g.r, names)
		rec := g.render(schemas[name](g, g.r.between(1, 99999)))
		if seen[rec.Prompt] {
			continue
		}
		seen[rec.Prompt] = true
		out = append(out, rec)
	}
	return out, nil
}
