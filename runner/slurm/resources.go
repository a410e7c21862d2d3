package slurm

import (
	"fmt"
	"strconv"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

// Resources are what one job asks Slurm for; empty fields are left to the
// cluster's defaults.
type Resources struct {
	CPUs      int
	Mem       string
	Time      string
	Partition string
}

// kindDefaults are the requests of each built-in kind unless the step's
// `resources:` (or `cpus:`) say otherwise: sized for the shipped workflows,
// small enough for a laptop-sized node. Time is left to the partition.
var kindDefaults = map[string]Resources{
	"corpus":    {CPUs: 1, Mem: "1G"},
	"tokenizer": {CPUs: 1, Mem: "1G"},
	"baseline":  {CPUs: 2, Mem: "2G"},
	"traces":    {CPUs: 2, Mem: "2G"},
	"train":     {CPUs: 2, Mem: "4G"},
	"eval":      {CPUs: 2, Mem: "2G"},
	"dryrun":    {CPUs: 1, Mem: "4G"},
	"exec":      {CPUs: 1, Mem: "1G"},
}

// ResourcesFor returns a node's requests: the kind's defaults, then its
// `cpus:`, then its `resources:`, then the driver's partition if the step
// names none.
func ResourcesFor(n *runner.Node, partition string) Resources {
	r, ok := kindDefaults[n.Kind.Kind()]
	if !ok {
		r = Resources{CPUs: 1}
	}
	if c := n.Schema.CPUs; c > 0 && c != steps.AllCPUs && !ok {
		r.CPUs = c
	}
	if n.CPUs > 0 {
		r.CPUs = n.CPUs
	}
	if s := n.Step.Resources; s != nil {
		r = merge(r, s)
	}
	if r.Partition == "" {
		r.Partition = partition
	}
	return r
}

func merge(r Resources, s *workflows.Resources) Resources {
	if s.CPUs > 0 {
		r.CPUs = s.CPUs
	}
	if s.Mem != "" {
		r.Mem = s.Mem
	}
	if s.Time != "" {
		r.Time = s.Time
	}
	if s.Partition != "" {
		r.Partition = s.Partition
	}
	return r
}

// args are the sbatch options for r.
func (r Resources) args() []string {
	var a []string
	if r.CPUs > 0 {
		a = append(a, "--cpus-per-task="+strconv.Itoa(r.CPUs))
	}
	if r.Mem != "" {
		a = append(a, "--mem="+r.Mem)
	}
	if r.Time != "" {
		a = append(a, "--time="+r.Time)
	}
	if r.Partition != "" {
		a = append(a, "--partition="+r.Partition)
	}
	return a
}

func (r Resources) String() string {
	return fmt.Sprintf("cpus=%d mem=%s time=%s partition=%s", r.CPUs, r.Mem, r.Time, r.Partition)
}
