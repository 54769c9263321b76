package sched

import "github.com/carnot-dc/carnot/internal/model"

// perJob keeps a value per job from one pass to the next, in a Queue: a
// pass reads what the last one put and puts its own, so what a pass did
// not meet is forgotten and the maps stay the size of a pass.
type perJob[V any] struct {
	last, next map[*model.Job]V
}

// turn makes what was put so far the values to read.
func (m *perJob[V]) turn() { m.last, m.next = m.next, reuse(m.last) }

func (m *perJob[V]) get(j *model.Job) (V, bool) {
	v, ok := m.last[j]
	return v, ok
}

// put keeps v for the next pass; a pass has turned the maps first.
func (m *perJob[V]) put(j *model.Job, v V) { m.next[j] = v }
