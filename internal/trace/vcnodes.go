package trace

import (
	"io"
	"os"
	"strconv"
)

// Columns of the VC sizes CSV of the Helios study.
const (
	ColVC    = "vc"
	ColNodes = "node num"
)

// MaxVCNodes bounds a VC's node count; beyond it a value is a typo.
const MaxVCNodes = 100_000

// LoadVCNodes reads a VC sizes file; see ReadVCNodes.
func LoadVCNodes(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadVCNodes(path, f)
}

// ReadVCNodes reads the node count (8-GPU nodes) of each virtual cluster
// from a CSV with the header "vc,node num", like philly-vc-nodes.csv;
// name is used in errors. Each VC appears once with 1 to MaxVCNodes
// nodes. Problems come back as an Errors list.
func ReadVCNodes(name string, r io.Reader) (map[string]int, error) {
	c := &collector{file: name}
	t, ok := openTable(r, c, []string{ColVC, ColNodes})
	if !ok {
		return nil, c.err()
	}
	out := map[string]int{}
	seen := map[string]int{} // line of each VC
	for {
		rec, line, ok := t.next()
		if !ok {
			break
		}
		vc, nodes := rec[t.col[ColVC]], rec[t.col[ColNodes]]
		l, col := t.pos(ColVC)
		switch first, dup := seen[vc]; {
		case !validIdent(vc):
			c.add(l, col, ColVC, "%q is not a virtual-cluster id; %s", short(vc), identHint)
		case dup:
			c.add(l, col, ColVC, "VC %s is already sized on line %d; keep one row per VC", vc, first)
		default:
			seen[vc] = line
		}
		n, err := strconv.Atoi(nodes)
		if err != nil || n < 1 || n > MaxVCNodes {
			l, col = t.pos(ColNodes)
			c.add(l, col, ColNodes, "%q is not a whole number of nodes from 1 to %d", short(nodes), MaxVCNodes)
			continue
		}
		if _, ok := out[vc]; !ok && validIdent(vc) {
			out[vc] = n
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, Errors{{File: name, Line: 1, Msg: "no VCs; add one row per VC after the header"}}
	}
	return out, nil
}
