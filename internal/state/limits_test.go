package state

import (
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
	"github.com/carnot-dc/carnot/internal/yamlin/yamlintest"
)

// State files that took seconds or gigabytes to read before the limits
// (docs/state.md#limits). Each test asserts the error and a bound on the
// work counted, never the wall time, so that a loaded machine cannot
// make it flaky.
func TestLimits(t *testing.T) {
	fac, jobs := fixture(t)
	keys := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "k%d: x\n", i)
		}
		return b.String()
	}
	// a comment of 1 MiB: two words, one token
	pad := strings.Repeat("# "+strings.Repeat("x", 1<<20)+"\n", 65)
	// each level of lists names the one below ten times: 10^7 numbers
	laughs := "recent_preemptions: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
	for i := 1; i < 7; i++ {
		laughs += fmt.Sprintf("a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	for _, tt := range []struct {
		name, y string
		line    int
		want    string
		parsed  bool // the parser ran: the limit is on values
	}{
		// 20,000 brackets: 0.9 s and 650 MB in the parser; 50,000:
		// 5 s and 3.8 GB
		{name: "nesting", y: "nodes: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n",
			line: 1, want: "nesting deeper than 32 levels, the limit"},
		// 20,000 keys in one block mapping: 4.9 s; 40,000: 15.6 s and
		// 6.3 GB allocated. now is the first key, k255 the 257th.
		{name: "keys", y: "now: 1\n" + keys(20000), line: 257, want: "a mapping with more than 256 keys, the limit"},
		// a million "- []" lines (7 MB): 10 s and 1.5 GB
		{name: "marks", y: "recent_preemptions:\n" + strings.Repeat("  - []\n", 2_000_000),
			line: 1_666_668, want: "the file has more than 5000000 words and marks, the limit"},
		{name: "size", y: "now: 1\n" + pad, line: 65,
			want: fmt.Sprintf("the file is %d bytes, above the 67108864 limit", len("now: 1\n"+pad))},
		{name: "aliases", y: laughs, line: 7, want: "the file has more than 5000000 values, the limit", parsed: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, w, err := load("s.yaml", []byte(tt.y), fac, jobs)
			yamlintest.Refused(t, err, w, limits, "s.yaml", tt.line, tt.want, tt.parsed)
		})
	}
}

// TestLimitsHold: a state file of a facility at its size limit (100,000
// nodes) fits the limits: every node listed and running a job of its
// own, written as examples/state-small.yaml writes them. It is checked
// at 2,000 nodes, since what a file counts grows with its entries.
func TestLimitsHold(t *testing.T) {
	const nodes, scale = 2000, 50
	fac, err := facility.Load("big.yaml", []byte(`name: big
sites:
  - {id: s, country: FR, operator: o, power_envelope_kw: 1e6, pue: 1.1, halls: [{id: h, racks: [{id: 'r[1-20]', nodes: [{names: '{rack}-n[1-100]', gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 2000}]}]}]}
tenants:
  - {name: lab-a}
`))
	if err != nil {
		t.Fatal(err)
	}
	var jobs []*model.Job
	var b strings.Builder
	b.WriteString("now: 2026-01-05T12:00:00Z\nnodes:\n")
	for _, n := range fac.Nodes {
		fmt.Fprintf(&b, "  - {name: %s, condition: draining, dirty_gpus: [], last_tenant: lab-a}\n", n.Name)
	}
	b.WriteString("running:\n")
	for i, n := range fac.Nodes {
		j := &model.Job{ID: fmt.Sprintf("job-%06d", i), Kind: model.KindJob, Tenant: "lab-a", PriorityClass: "normal",
			Replicas: 1, GPUsPerReplica: 8, RuntimeLimit: 6 * model.Hour}
		jobs = append(jobs, j)
		fmt.Fprintf(&b, "  - {job: %s, started: 2026-01-05T06:00:00Z, last_checkpoint: 2026-01-05T11:30:00Z, placement: [\"%s:0-7\"]}\n", j.ID, n.Name)
	}
	if len(fac.Nodes) != nodes {
		t.Fatalf("%d nodes", len(fac.Nodes))
	}
	st, w, err := load("s.yaml", []byte(b.String()), fac, jobs)
	if err != nil {
		t.Fatalf("%.500v", err)
	}
	if len(st.Running) != nodes {
		t.Fatalf("%d running", len(st.Running))
	}
	// marks, values and bytes grow with the entries, so the file of
	// 100,000 nodes has 50 times these
	if _, _, problem := (yamlin.Limits{Marks: limits.Marks / scale}).Tokens([]byte(b.String())); problem != "" {
		t.Errorf("%d nodes: %s; at 100,000 nodes the file would pass the limit", nodes, problem)
	}
	if w.Values*scale > limits.Values || b.Len()*scale > limits.Bytes {
		t.Errorf("%d nodes: %d values, %d bytes; at 100,000 nodes the file would pass the limits", nodes, w.Values, b.Len())
	}
	t.Logf("%d nodes: %d bytes, %d tokens, %d values", nodes, b.Len(), w.Tokens, w.Values)
}
