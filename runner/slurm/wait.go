package slurm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
)

// goneAfter is how many polls in a row a job may be missing from squeue
// (a job just submitted, or one aged out after MinJobAge) before the
// driver decides from the store alone.
const goneAfter = 3

// progressEvery is how often the driver reports unchanged progress.
const progressEvery = 30 * time.Second

// wait polls squeue until every tracked step has an outcome, cancelling
// the jobs if ctx is cancelled.
func (d *driver) wait(ctx context.Context) error {
	poll := d.x.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	lastMsg, lastAt := "", time.Time{}
	stopped := false
	for {
		if d.allDone() {
			return nil
		}
		select {
		case <-ctx.Done():
			d.cancelAll(context.WithoutCancel(ctx), "")
			return nil
		case <-time.After(poll):
		}
		queue, err := d.cmd.Queue(ctx)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			d.info(fmt.Sprintf("squeue failed (%v); retrying", err))
			continue
		}
		failed := d.update(ctx, queue)
		if failed && !d.ex.KeepGoing() && !stopped {
			stopped = true
			d.cancelAll(ctx, "not started: the run stopped after a step failed (--keep-going runs independent steps)")
		}
		msg := d.progress(queue)
		if msg != lastMsg || time.Since(lastAt) > progressEvery {
			d.info(msg)
			lastMsg, lastAt = msg, time.Now()
		}
	}
}

func (d *driver) allDone() bool {
	for _, t := range d.order {
		if !t.finished && !d.ex.Done(t.n) {
			return false
		}
	}
	return true
}

// update takes one squeue snapshot and records every step whose job
// ended, upstream first. It reports whether a step failed.
func (d *driver) update(ctx context.Context, queue map[string]JobState) bool {
	failed := false
	var orphans []string
	for _, t := range d.order {
		if t.finished || d.ex.Done(t.n) {
			if !t.finished && d.ex.Status(t.n) == store.StepSkipped {
				// Skipped below a failure that Slurm does not know of
				// (a job that vanished): its job would wait forever.
				if j, ok := queue[t.job.id]; ok && Classify(j.State) == Active {
					orphans = append(orphans, t.job.id)
				}
				d.dropLease(t)
			}
			t.finished = true
			continue
		}
		j, ok := queue[t.job.id]
		if !ok {
			t.missing++
			if t.missing < goneAfter {
				continue
			}
			// Aged out of squeue (or never seen): the store decides.
			if d.finish(t) == nil {
				continue
			}
			d.fail(ctx, t, fmt.Errorf("slurm job %s: %w", t.job.id, errGone))
			failed = true
			continue
		}
		t.missing = 0
		switch Classify(j.State) {
		case Active:
			if j.State == "RUNNING" && !t.started {
				t.started = true
				t.start = time.Now()
				d.ex.Started(t.n, fmt.Sprintf("slurm job %s on %s", t.job.id, j.Node))
			}
		case Succeeded:
			if err := d.finish(t); err != nil {
				d.fail(ctx, t, fmt.Errorf("slurm job %s completed but %v", t.job.id, err))
				failed = true
			}
		case Ended:
			if j.Reason == "DependencyNeverSatisfied" {
				// Slurm killed it because an upstream job failed; that
				// failure is reported, and this step skipped, at its root.
				if !d.ex.Done(t.n) {
					d.ex.Skipped(t.n, "upstream job failed")
				}
				t.finished = true
				d.dropLease(t)
				continue
			}
			// A job that ended badly may still have committed (a step
			// computed by a concurrent job): the store decides.
			if d.finish(t) == nil {
				continue
			}
			d.fail(ctx, t, fmt.Errorf("slurm job %s %s (%s)", t.job.id, j.State, d.exitInfo(ctx, t, j)))
			failed = true
		}
	}
	if len(orphans) > 0 {
		_ = d.cmd.Cancel(ctx, orphans)
	}
	return failed
}

// finish records a step from the store.
func (d *driver) finish(t *tracked) error {
	var took time.Duration
	if t.started {
		took = time.Since(t.start)
	}
	adopted := []string{}
	if t.adopted != "" {
		adopted = append(adopted, t.adopted)
	}
	if err := d.ex.Finished(t.n, took, adopted...); err != nil {
		return err
	}
	t.finished = true
	d.dropLease(t)
	return nil
}

func (d *driver) fail(_ context.Context, t *tracked, err error) {
	tail := runner.LogTail(t.log, 20)
	if tail == "" {
		tail = fmt.Sprintf("(no output in %s)", t.log)
	} else {
		tail = fmt.Sprintf("%s\n(log: %s)", tail, t.log)
	}
	d.ex.Failed(t.n, err, tail)
	t.finished = true
	d.dropLease(t)
}

func (d *driver) exitInfo(ctx context.Context, t *tracked, j JobState) string {
	var parts []string
	if code := d.cmd.ExitCode(ctx, t.job.id); code != "" {
		parts = append(parts, "exit code "+code)
	}
	if j.Reason != "" && j.Reason != "None" {
		parts = append(parts, j.Reason)
	}
	if len(parts) == 0 {
		return "no exit code"
	}
	return strings.Join(parts, ", ")
}

func (d *driver) dropLease(t *tracked) {
	if l := d.st.ReadLease(leaseName(t.key)); l != nil && l.Job == t.job.id {
		_ = d.st.RemoveLease(l.Name)
	}
}

// cancelAll cancels every job still pending or running (only pending ones
// when reason is set: a stop after a failure lets running steps finish,
// as the local executor does) and records their steps as skipped.
func (d *driver) cancelAll(ctx context.Context, reason string) {
	queue, _ := d.cmd.Queue(ctx)
	var ids []string
	var which []*tracked
	for _, t := range d.order {
		if t.finished || d.ex.Done(t.n) {
			continue
		}
		if reason != "" {
			if j, ok := queue[t.job.id]; ok && j.State != "PENDING" {
				continue
			}
		}
		ids = append(ids, t.job.id)
		which = append(which, t)
	}
	if len(ids) == 0 {
		return
	}
	if err := d.cmd.Cancel(ctx, ids); err != nil {
		d.info(fmt.Sprintf("scancel: %v", err))
	} else {
		d.info(fmt.Sprintf("cancelled %d jobs", len(ids)))
	}
	for _, t := range which {
		t.finished = true
		d.dropLease(t)
		if reason != "" && !d.ex.Done(t.n) {
			d.ex.Skipped(t.n, reason)
		}
	}
}

// progress summarises the tracked steps.
func (d *driver) progress(queue map[string]JobState) string {
	counts := map[string]int{}
	for _, t := range d.order {
		switch st := d.ex.Status(t.n); {
		case st == store.StepRan || st == store.StepCached:
			counts["done"]++
		case st == store.StepFailed:
			counts["failed"]++
		case st == store.StepSkipped:
			counts["skipped"]++
		default:
			if j, ok := queue[t.job.id]; ok && j.State == "RUNNING" {
				counts["running"]++
			} else {
				counts["pending"]++
			}
		}
	}
	msg := fmt.Sprintf("%d/%d jobs done, %d running, %d pending", counts["done"], len(d.order), counts["running"], counts["pending"])
	if counts["failed"] > 0 {
		msg += fmt.Sprintf(", %d failed", counts["failed"])
	}
	if counts["skipped"] > 0 {
		msg += fmt.Sprintf(", %d skipped", counts["skipped"])
	}
	return msg
}

// Interface check.
var _ runner.Executor = (*Executor)(nil)
