package sim

import "slices"

// logged is a slice of the snapshot that the engine changes a few entries
// of between passes, with the log of those changes since the verifier
// last took them: the verifier's copy follows by replaying the log,
// instead of copying the whole slice at every pass.
type logged[T any] struct {
	s   []T
	log []change[T]
}

// change is one change to a logged slice: entry i is removed, or becomes
// v, in place of the entry or inserted before it.
type change[T any] struct {
	i  int
	op changeOp
	v  T
}

type changeOp uint8

const (
	opSet changeOp = iota
	opInsert
	opDelete
)

func (l *logged[T]) set(i int, v T) {
	l.s[i] = v
	l.log = append(l.log, change[T]{i: i, op: opSet, v: v})
}

func (l *logged[T]) insert(i int, v T) {
	l.s = slices.Insert(l.s, i, v)
	l.log = append(l.log, change[T]{i: i, op: opInsert, v: v})
}

func (l *logged[T]) delete(i int) {
	l.s = slices.Delete(l.s, i, i+1)
	l.log = append(l.log, change[T]{i: i, op: opDelete})
}

// taken empties the log, once the verifier has its copy.
func (l *logged[T]) taken() { l.log = l.log[:0] }

// replay applies a log to a copy of the slice as it was before, in order.
func replay[T any](dst []T, log []change[T]) []T {
	for _, c := range log {
		switch c.op {
		case opSet:
			dst[c.i] = c.v
		case opInsert:
			dst = slices.Insert(dst, c.i, c.v)
		case opDelete:
			dst = slices.Delete(dst, c.i, c.i+1)
		}
	}
	return dst
}
