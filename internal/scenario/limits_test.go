package scenario

import (
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/yamlin/yamlintest"
)

// Scenario sets that took seconds or gigabytes to read before the limits
// (docs/plan.md#limits), all under the 1 MiB the file may have. Each
// test asserts the error and a bound on the work counted, never the wall
// time, so that a loaded machine cannot make it flaky.
func TestLimits(t *testing.T) {
	const head = "facility: f.yaml\nworkload: {file: j.jsonl}\n"
	keys := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "  p%d: {}\n", i)
		}
		return b.String()
	}
	// each level of lists names the one below ten times: 10^7 values,
	// which a policy setting would write out and parse again
	laughs := head + "x: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
	for i := 1; i < 7; i++ {
		laughs += fmt.Sprintf("a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	laughs += "policies: {p: {order: *a6}}\n"
	for _, tt := range []struct {
		name, y string
		line    int
		want    string
		parsed  bool // the parser ran: the limit is on values
	}{
		// 50,000 brackets (100 kB): 6.2 s and 3.8 GB; 200,000 (400 kB)
		// ran out of memory (24 GB) after 105 s
		{name: "nesting", y: head + "x: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n",
			line: 3, want: "nesting deeper than 32 levels, the limit"},
		{name: "more nesting", y: head + "x: " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "\n",
			line: 3, want: "the file has more than 200000 words and marks, the limit"},
		// 40,000 keys in one block mapping (470 kB): 9.7 s and 6.4 GB
		// allocated
		{name: "keys", y: head + "policies:\n" + keys(40_000), line: 3 + 257, want: "a mapping with more than 256 keys, the limit"},
		// 349,000 empty lists on one line (1 MiB): 3.7 s and 480 MB
		{name: "marks", y: head + "x: [" + strings.Repeat("[],", 349_000) + "]\n",
			line: 3, want: "the file has more than 200000 words and marks, the limit"},
		{name: "size", y: head + "# " + strings.Repeat("x", 1<<20) + "\n", line: 3,
			want: fmt.Sprintf("the file is %d bytes, above the 1048576 limit", len(head)+2+(1<<20)+1)},
		{name: "aliases", y: laughs, line: 8, want: "the file has more than 200000 values, the limit", parsed: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, w, err := load("set.yaml", []byte(tt.y))
			yamlintest.Refused(t, err, w, limits, "set.yaml", tt.line, tt.want, tt.parsed)
		})
	}
}

// TestCrossProductCounted: the scenarios of the cross product were made
// before their number was checked: 200 variants on each axis of flow
// mappings (7 kB) made 8 million, 3.4 GB in 27 s.
func TestCrossProductCounted(t *testing.T) {
	axis := func(prefix, body string) string {
		var b strings.Builder
		for i := range 200 {
			fmt.Fprintf(&b, "%s%d: %s, ", prefix, i, body)
		}
		return "{" + b.String() + "}"
	}
	y := "facility: f.yaml\nworkload: {file: j.jsonl}\npolicies: " + axis("p", "{}") + "\nfacilities: " + axis("f", "{}") + "\ngrids: " + axis("g", "{zone: FR}") + "\n"
	s, err := Load("set.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), "set.yaml:1: 8000000 scenarios, more than 1024; split the set") {
		t.Fatalf("err = %.300v, want the scenarios counted", err)
	}
	if s != nil {
		t.Errorf("a set came back with the error")
	}
}

// TestLimitsHold: the largest set the other limits allow loads: 64
// variants on each axis, each policy setting every field, and 1,024
// explicit scenarios.
func TestLimitsHold(t *testing.T) {
	policy := "{fair_share: true, fair_share_half_life: 7d, quotas: true, preemption: true, reclaim: true, " +
		"preemption_rate_limit: {max: 4, window: 1h}, victim_ratio: 8, reclaim_min_run: 30m, backfill: true, backfill_depth: 16, " +
		"reservation: true, order: shortest-first, topology: true, power: true, power_capping: true, power_share: false, " +
		"deferral: true, carbon_weight: 0.5, sovereignty: true, outside_jurisdiction: requeue}"
	var b strings.Builder
	b.WriteString("name: largest\nfacility: f.yaml\nworkload: {file: j.jsonl}\npolicies:\n")
	for i := range maxVariants {
		fmt.Fprintf(&b, "  policy-%02d: %s\n", i, policy)
	}
	b.WriteString("facilities:\n")
	for i := range maxVariants {
		fmt.Fprintf(&b, "  facility-%02d: {gpu_scale: 1.5, envelope_fraction: 0.75}\n", i)
	}
	b.WriteString("grids:\n")
	for i := range maxVariants {
		fmt.Fprintf(&b, "  grid-%02d: {zone: FR, file: grids/fr-%02d-hourly.csv}\n", i, i) // one series each: two alike are an error
	}
	b.WriteString("scenarios:\n")
	for i := range maxScenarios {
		fmt.Fprintf(&b, "  - {name: scenario-%04d, policy: policy-%02d, facility: facility-%02d, grid: grid-%02d}\n", i, i%maxVariants, i/16%maxVariants, i/64%maxVariants)
	}
	s, w, err := load("set.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("the largest set (%d bytes) did not load: %.500v", b.Len(), err)
	}
	if len(s.Scenarios) != maxScenarios {
		t.Errorf("%d scenarios", len(s.Scenarios))
	}
	t.Logf("the largest set: %d bytes, %d tokens, %d values", b.Len(), w.Tokens, w.Values)
}
