package yamlin

import (
	"fmt"
	"strconv"
)

// Node is one value of the input with its line: a small, format-neutral
// tree that decoders read. Reader builds it from YAML; a loader may build
// it from another format (internal/jobspec's JSON Lines scanner) and so
// share one decoder and one set of messages.
type Node struct {
	Kind    Kind
	Line    int
	Text    string // scalars: the value as written, strings unquoted
	Int     int64  // KindInt
	Bool    bool   // KindBool
	Entries []Entry
	Items   []*Node
}

// Entry is one key of a mapping, with the line of the key.
type Entry struct {
	Key  string
	Line int
	Val  *Node
}

// Kind is what a Node holds.
type Kind uint8

// The kinds of Node.
const (
	KindNull Kind = iota
	KindString
	KindInt
	KindFloat
	KindBool
	KindMap
	KindSeq
)

// String names the kind as messages do: "integer", "mapping", "list"...
func (k Kind) String() string {
	return [...]string{"null", "string", "integer", "number", "boolean", "mapping", "list"}[k]
}

// Get returns the value of key in a mapping, or nil.
func (n *Node) Get(key string) *Node {
	for i := range n.Entries {
		if n.Entries[i].Key == key {
			return n.Entries[i].Val
		}
	}
	return nil
}

// Describe is a value as shown in messages: its text, quoted for strings
// and cut to 40 characters.
func (n *Node) Describe() string {
	switch n.Kind {
	case KindString:
		return strconv.Quote(Truncate(n.Text, 40))
	case KindMap, KindSeq:
		return "a " + n.Kind.String()
	case KindNull:
		return "null"
	}
	return Truncate(n.Text, 40)
}

// Truncate cuts s to max characters, marking the cut with "…", so that
// hostile input cannot make a message arbitrarily long.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return fmt.Sprintf("%s…", string(r[:max]))
}

// KeySet finds the repeated keys of one mapping as its entries are
// added: by a scan of the entries while they are few (a job's dozen
// fields), by a map once they are many (a large env, a merged mapping
// of thousands of keys), so that no mapping costs quadratic time. The
// zero value is ready to use.
type KeySet map[string]struct{}

// linearKeys is how many entries a mapping may have before KeySet
// switches to a map.
const linearKeys = 32

// Add reports whether key is already a key of n, then notes it; the
// caller appends the entry to n when it is not.
func (ks *KeySet) Add(n *Node, key string) bool {
	if *ks == nil && len(n.Entries) < linearKeys {
		return n.Get(key) != nil
	}
	if *ks == nil {
		*ks = make(KeySet, 2*len(n.Entries))
		for _, e := range n.Entries {
			(*ks)[e.Key] = struct{}{}
		}
	}
	if _, dup := (*ks)[key]; dup {
		return true
	}
	(*ks)[key] = struct{}{}
	return false
}
