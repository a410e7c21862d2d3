package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
)

// Executor runs a plan's cache misses as Slurm jobs. It implements
// runner.Executor.
type Executor struct {
	// Bin is the bitflow executable the jobs run (default: this one).
	Bin string
	// Dir is the jobs' working directory (default: this one); relative
	// workflow paths resolve against it, so it must be on a shared path.
	Dir string
	// Spec rebuilds the plan in each job (workflow bytes, --set, points).
	Spec *runner.PlanSpec
	// Partition is used for steps whose resources name none.
	Partition string
	// MaxParallel caps how many tasks of one job array run at once (0: 8).
	MaxParallel int
	// Poll is the squeue interval (default 2s).
	Poll time.Duration
	// Options are extra sbatch options for every job (--account=..., --qos=...).
	Options []string
	// Cmd are the Slurm programs (default: DefaultCommands).
	Cmd *Commands
	// Version is passed on to jobs' records; informational.
	Version string
}

// jobRef is a step's job: a plain job ("123") or an array task ("123_4").
type jobRef struct {
	array string // array job ID, or "" for a plain job
	task  int
	id    string // what squeue lists
}

func plainJob(id string) jobRef { return jobRef{id: id, task: -1} }
func arrayTask(arr string, task int) jobRef {
	return jobRef{array: arr, task: task, id: fmt.Sprintf("%s_%d", arr, task)}
}

// parseJobRef reads "123" or "123_4".
func parseJobRef(s string) jobRef {
	if a, t, ok := strings.Cut(s, "_"); ok {
		var n int
		if _, err := fmt.Sscanf(t, "%d", &n); err == nil {
			return arrayTask(a, n)
		}
	}
	return plainJob(s)
}

// tracked is one step the driver waits for.
type tracked struct {
	n        *runner.Node
	key      string // structural key (runner.NodeKeys)
	job      jobRef
	log      string
	adopted  string // the run that submitted it, if not this one
	started  bool
	start    time.Time
	missing  int // consecutive polls without the job in squeue
	finished bool
}

// leaseName is the lease of a step's job: by structural key, so that a
// driver started again finds the job its predecessor submitted.
func leaseName(key string) string { return "slurm-" + key[:40] }

type driver struct {
	x       *Executor
	ex      *runner.Execution
	st      *store.Store
	cmd     Commands
	keys    map[*runner.Node]string
	runDir  string // runs/<id>/slurm
	host    string
	tracked map[*runner.Node]*tracked
	order   []*tracked // topological
}

// Execute implements runner.Executor.
func (x *Executor) Execute(ctx context.Context, ex *runner.Execution) error {
	d := &driver{x: x, ex: ex, st: ex.Store(), tracked: map[*runner.Node]*tracked{}}
	d.cmd = DefaultCommands
	if x.Cmd != nil {
		d.cmd = *x.Cmd
	}
	d.host, _ = os.Hostname()
	keys, err := runner.NodeKeys(ex.Plan())
	if err != nil {
		return err
	}
	d.keys = keys
	d.runDir = filepath.Join(d.st.RunDir(ex.RunID()), "slurm")
	if err := os.MkdirAll(filepath.Join(d.runDir, "logs"), 0o755); err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	spec, err := json.MarshalIndent(x.Spec, "", "  ")
	if err != nil {
		return fmt.Errorf("slurm: plan spec: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d.runDir, "spec.json"), spec, 0o644); err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	// Cache hits first: whatever resolves now needs no job.
	var todo []*runner.Node
	p := ex.Plan()
	for _, n := range p.Nodes {
		if !p.Selected[n] {
			continue
		}
		if r, _ := ex.Resolve(n); r != runner.Cached {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	err = d.submitAll(ctx, todo)
	d.sortTracked()
	if err != nil {
		d.cancelAll(context.WithoutCancel(ctx), "")
		return err
	}
	return d.wait(ctx)
}

// submitAll attaches to the jobs a previous driver left in flight and
// submits the rest, under a store lock so that two drivers never submit
// the same step at once.
func (d *driver) submitAll(ctx context.Context, todo []*runner.Node) error {
	lock, err := d.st.LockNamed(ctx, "slurm-submit", func() {
		d.info("waiting for another bitflow to finish submitting its jobs")
	})
	if err != nil {
		return err
	}
	defer lock.Unlock()
	queue, err := d.cmd.Queue(ctx)
	if err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	attached := 0
	var submit []*runner.Node
	for _, n := range todo {
		key := d.keys[n]
		t := &tracked{n: n, key: key, start: time.Now()}
		if l := d.st.ReadLease(leaseName(key)); l != nil && l.Job != "" {
			if j, ok := queue[l.Job]; ok && Classify(j.State) == Active {
				t.job, t.log, t.adopted = parseJobRef(l.Job), l.Note, l.Run
				d.add(t)
				attached++
				continue
			}
		}
		submit = append(submit, n)
	}
	if attached > 0 {
		d.info(fmt.Sprintf("re-attached to %s still in flight from an earlier run", plural(attached, "job")))
	}
	if len(submit) == 0 {
		return nil
	}
	groups := d.group(submit)
	for _, g := range groups {
		if err := d.submitGroup(ctx, g); err != nil {
			return err
		}
	}
	arrays := 0
	for _, g := range groups {
		if len(g.nodes) > 1 {
			arrays++
		}
	}
	d.info(fmt.Sprintf("submitted %s as %s (%s); logs in %s", plural(len(submit), "step"), plural(len(groups), "Slurm submission"), plural(arrays, "job array"), filepath.Join(d.runDir, "logs")))
	return nil
}

// add tracks a step; sortTracked puts them back in topological order.
func (d *driver) add(t *tracked) {
	d.tracked[t.n] = t
	d.order = append(d.order, t)
}

func (d *driver) sortTracked() {
	pos := make(map[*runner.Node]int, len(d.ex.Plan().Nodes))
	for i, n := range d.ex.Plan().Nodes {
		pos[n] = i
	}
	slices.SortStableFunc(d.order, func(a, b *tracked) int { return pos[a.n] - pos[b.n] })
}

// info reports driver progress.
func (d *driver) info(msg string) { d.ex.Emit(runner.Event{Type: runner.Info, Msg: "slurm: " + msg}) }

// group is one submission: a plain job, or a job array whose tasks are
// the points' copies of one workflow step.
type group struct {
	nodes   []*runner.Node
	tasks   []int // array task index of each node
	res     Resources
	after   []string // afterok dependencies
	corr    []string // aftercorr dependencies (array job IDs)
	isArray bool
}

// group splits the steps to submit into submissions, level by level of
// the DAG: steps of the same workflow step, with the same resources and the
// same dependencies, become one job array. A dependency on another array
// is "aftercorr" when each task depends on the task of the same index, so
// point i's eval starts when point i's training is done.
func (d *driver) group(nodes []*runner.Node) []*group {
	level := map[*runner.Node]int{}
	inSubmit := map[*runner.Node]bool{}
	for _, n := range nodes {
		inSubmit[n] = true
	}
	maxLevel := 0
	for _, n := range nodes { // topological order
		l := 0
		for _, u := range upstream(n) {
			if inSubmit[u] {
				l = max(l, level[u]+1)
			}
		}
		level[n] = l
		maxLevel = max(maxLevel, l)
	}
	// Groups are formed level by level, but their jobs are only known at
	// submission; so grouping keys use the upstream groups, which are
	// decided before.
	groupOf := map[*runner.Node]*group{}
	taskOf := map[*runner.Node]int{}
	var out []*group
	for l := 0; l <= maxLevel; l++ {
		buckets := map[string][]*runner.Node{}
		var bucketOrder []string
		for _, n := range nodes {
			if level[n] != l {
				continue
			}
			var plain, arrays []string
			for _, u := range upstream(n) {
				switch {
				case groupOf[u] != nil && groupOf[u].isArray:
					arrays = append(arrays, fmt.Sprintf("g%p", groupOf[u]))
				case groupOf[u] != nil:
					plain = append(plain, fmt.Sprintf("g%p", groupOf[u]))
				case d.tracked[u] != nil:
					plain = append(plain, d.tracked[u].job.id)
				}
			}
			slices.Sort(plain)
			slices.Sort(arrays)
			res := ResourcesFor(n, d.x.Partition)
			k := strings.Join([]string{n.Step.Name, res.String(), strings.Join(plain, ","), strings.Join(arrays, ",")}, "|")
			if _, ok := buckets[k]; !ok {
				bucketOrder = append(bucketOrder, k)
			}
			buckets[k] = append(buckets[k], n)
		}
		for _, k := range bucketOrder {
			for _, g := range d.split(buckets[k], groupOf, taskOf) {
				for i, n := range g.nodes {
					groupOf[n] = g
					taskOf[n] = g.tasks[i]
				}
				out = append(out, g)
			}
		}
	}
	return out
}

// split makes one array of a bucket when every member's tasks in upstream
// arrays agree on one index, unique in the bucket; else single jobs.
func (d *driver) split(nodes []*runner.Node, groupOf map[*runner.Node]*group, taskOf map[*runner.Node]int) []*group {
	res := ResourcesFor(nodes[0], d.x.Partition)
	if len(nodes) == 1 {
		return []*group{{nodes: nodes, tasks: []int{-1}, res: res}}
	}
	g := &group{nodes: nodes, res: res, isArray: true}
	used := map[int]bool{}
	ok := true
	for i, n := range nodes {
		idx := -1
		for _, u := range upstream(n) {
			if ug := groupOf[u]; ug != nil && ug.isArray {
				if idx == -1 {
					idx = taskOf[u]
				} else if idx != taskOf[u] {
					ok = false
				}
			}
		}
		if idx == -1 {
			idx = i
		}
		if used[idx] {
			ok = false
		}
		used[idx] = true
		g.tasks = append(g.tasks, idx)
	}
	if ok {
		return []*group{g}
	}
	var out []*group
	for _, n := range nodes {
		out = append(out, &group{nodes: []*runner.Node{n}, tasks: []int{-1}, res: res})
	}
	return out
}

// upstream lists the steps n depends on.
func upstream(n *runner.Node) []*runner.Node {
	var out []*runner.Node
	for _, e := range n.Inputs {
		if !slices.Contains(out, e.From) {
			out = append(out, e.From)
		}
	}
	for _, u := range n.Needs {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// submitGroup writes the group's task list and submits it.
func (d *driver) submitGroup(ctx context.Context, g *group) error {
	name := safeName(g.nodes[0].Step.Name)
	if !g.isArray {
		name = safeName(g.nodes[0].Name)
	}
	base := fmt.Sprintf("%s-%s", name, d.keys[g.nodes[0]][:8])
	var tasks strings.Builder
	for i, n := range g.nodes {
		fmt.Fprintf(&tasks, "%d\t%s\t%s\n", g.tasks[i], n.Name, d.keys[n])
	}
	tasksFile := filepath.Join(d.runDir, base+".tasks")
	if err := os.WriteFile(tasksFile, []byte(tasks.String()), 0o644); err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	logPattern := filepath.Join(d.runDir, "logs", base+".log")
	if g.isArray {
		logPattern = filepath.Join(d.runDir, "logs", base+"_%a.log")
	}
	var after, corr []string
	for _, n := range g.nodes {
		for _, u := range upstream(n) {
			t := d.tracked[u]
			if t == nil || d.ex.Done(u) {
				continue
			}
			if g.isArray && t.job.array != "" && t.job.task == g.tasks[slices.Index(g.nodes, n)] && t.adopted == "" {
				if !slices.Contains(corr, t.job.array) {
					corr = append(corr, t.job.array)
				}
				continue
			}
			if !slices.Contains(after, t.job.id) {
				after = append(after, t.job.id)
			}
		}
	}
	// An array's afterok on a plain job applies to every task: it is the
	// same for all members (same bucket), so the union above is exact.
	args := []string{
		"--job-name=bitflow:" + name,
		"--chdir=" + d.x.dir(),
		"--output=" + logPattern,
		"--kill-on-invalid-dep=yes",
		"--export=ALL",
	}
	args = append(args, g.res.args()...)
	var deps []string
	if len(after) > 0 {
		deps = append(deps, "afterok:"+strings.Join(after, ":"))
	}
	if len(corr) > 0 {
		deps = append(deps, "aftercorr:"+strings.Join(corr, ":"))
	}
	if len(deps) > 0 {
		args = append(args, "--dependency="+strings.Join(deps, ","))
	}
	if g.isArray {
		limit := d.x.MaxParallel
		if limit <= 0 {
			limit = 8
		}
		args = append(args, fmt.Sprintf("--array=%s%%%d", compactRanges(g.tasks), limit))
	}
	args = append(args, d.x.Options...)
	script := d.script(tasksFile)
	id, err := d.cmd.Submit(ctx, args, script)
	if err != nil {
		return fmt.Errorf("slurm: submitting %s: %w", base, err)
	}
	now := time.Now().UTC()
	for i, n := range g.nodes {
		t := &tracked{n: n, key: d.keys[n], start: time.Now()}
		if g.isArray {
			t.job = arrayTask(id, g.tasks[i])
			t.log = filepath.Join(d.runDir, "logs", fmt.Sprintf("%s_%d.log", base, g.tasks[i]))
		} else {
			t.job = plainJob(id)
			t.log = logPattern
		}
		d.add(t)
		l := &store.Lease{Name: leaseName(t.key), Host: d.host, PID: os.Getpid(), Job: t.job.id, Run: d.ex.RunID(),
			Note: t.log, Started: now, Heartbeat: now}
		if err := d.st.WriteLease(l); err != nil {
			return err
		}
	}
	return nil
}

// script is the batch script of a submission: one bitflow slurm-step per
// task.
func (d *driver) script(tasksFile string) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	return fmt.Sprintf("#!/bin/sh\n# submitted by bitflow run %s\nexec %s slurm-step --store %s --run %s --spec %s --tasks %s\n",
		d.ex.RunID(), q(d.x.bin()), q(d.st.Root()), d.ex.RunID(), q(filepath.Join(d.runDir, "spec.json")), q(tasksFile))
}

func (x *Executor) bin() string {
	if x.Bin != "" {
		return x.Bin
	}
	if b, err := os.Executable(); err == nil {
		return b
	}
	return "bitflow"
}

func (x *Executor) dir() string {
	if x.Dir != "" {
		return x.Dir
	}
	wd, _ := os.Getwd()
	return wd
}

// compactRanges writes task indices as Slurm's --array list: 0-3,5,7-8.
func compactRanges(idx []int) string {
	s := slices.Clone(idx)
	slices.Sort(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// errGone is a job that Slurm no longer lists and that committed nothing.
var errGone = errors.New("Slurm no longer lists the job and it committed no result")

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
