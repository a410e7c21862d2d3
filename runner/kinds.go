package runner

import (
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

// LoaderKinds shows a step registry to the workflow loader, which validates
// `uses:` steps against it without knowing the steps package.
func LoaderKinds(reg *steps.Registry) workflows.Kinds { return loaderKinds{reg} }

type loaderKinds struct{ reg *steps.Registry }

func (k loaderKinds) KindNames() []string { return k.reg.Names() }

func (k loaderKinds) Kind(name string) (workflows.KindInfo, bool) {
	s, ok := k.reg.Get(name)
	if !ok {
		return workflows.KindInfo{}, false
	}
	sc := s.Params()
	var info workflows.KindInfo
	for _, in := range sc.Inputs {
		info.Inputs = append(info.Inputs, workflows.KindInput{Name: in.Name, Optional: in.Optional})
	}
	for _, o := range sc.Outputs {
		info.Outputs = append(info.Outputs, o.Name)
	}
	for _, p := range sc.Params {
		info.Params = append(info.Params, p.Name)
	}
	return info, true
}
