package model

import "fmt"

// Tensor describes one named parameter tensor: its view is
// Params[Offset : Offset+Size()] of the model's flat buffer.
type Tensor struct {
	Name   string
	Shape  []int
	Offset int
	// Decay marks 2-D weight matrices, the only tensors AdamW decays
	// (not norm gains, scales or bit_params).
	Decay bool
}

// Size returns the number of elements of t.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// layout assigns consecutive offsets in one flat buffer to named tensors.
type layout struct {
	tensors []Tensor
	index   map[string]int
	n       int
}

func (l *layout) add(name string, decay bool, shape ...int) {
	if l.index == nil {
		l.index = map[string]int{}
	}
	if _, dup := l.index[name]; dup {
		panic(fmt.Sprintf("model: duplicate tensor %q", name))
	}
	t := Tensor{Name: name, Shape: shape, Offset: l.n, Decay: decay}
	l.index[name] = len(l.tensors)
	l.tensors = append(l.tensors, t)
	l.n += t.Size()
}

// view returns the slice of buf holding the tensor name, or nil if there is
// no such tensor.
func (l *layout) view(buf []float32, name string) []float32 {
	i, ok := l.index[name]
	if !ok {
		return nil
	}
	t := l.tensors[i]
	return buf[t.Offset : t.Offset+t.Size() : t.Offset+t.Size()]
}
