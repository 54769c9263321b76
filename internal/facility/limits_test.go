package facility

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// Files that once took seconds, minutes or gigabytes to load. Each test
// asserts the error and a bound on the work done (work), never the wall
// time, so that a loaded machine cannot make it flaky.

// site wraps racks in a valid site and hall.
func site(racks string) string {
	return "name: t\nsites: [{id: s, country: FR, operator: o, power_envelope_kw: 1e7, pue: 1.1, halls: [{id: h, racks: [" + racks + "]}]}]\n"
}

// group is a node group of H100 nodes named by pattern.
func group(pattern string) string {
	return "{names: '" + pattern + "', gpu_model: H100, gpus: 8, cpus: 1, memory_gib: 1, base_watts: 1}"
}

// wantErr loads y and checks that one error says want on line, at field.
func wantErr(t *testing.T, y string, line int, field, want string) (work, Errors) {
	t.Helper()
	_, w, err := load("h.yaml", []byte(y))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want Errors", err)
	}
	for _, e := range errs {
		if e.Line == line && e.Field == field && strings.Contains(e.Msg, want) {
			return w, errs
		}
	}
	if len(errs) > 5 {
		errs = errs[:5]
	}
	t.Fatalf("no error %d: %s: %q among:\n%v", line, field, want, errs)
	return w, nil
}

func TestNodeLimit(t *testing.T) {
	names := "sites[0].halls[0].racks[0].nodes[0].names"
	for _, tt := range []struct {
		name, y, field, want string
	}{
		// once 12 s: 600,000 names were made before the budget stopped
		{"ranges times ranges", site("{id: 'r[1-99999]', nodes: [" + group("{rack}-n[1-99999]") + "]}"),
			names, "more than 100000 nodes, the limit (these names make 99999 in each of 99999 racks)"},
		// a fuzz seed: 3 × 99,999 names, 3.4 s a run under the fuzzer
		{"three racks", site("{id: 'r[1-3]', nodes: [{names: 'n[1-99999]'}]}"),
			names, "more than 100000 nodes, the limit (these names make 99999 in each of 3 racks)"},
		{"many entries", site(strings.Repeat("{id: 'r[1-9]', nodes: ["+group("{rack}-n[1-10000]")+"]}, ", 3)),
			"sites[0].halls[0].racks[1].nodes[0].names", "more than 100000 nodes, the limit (these names make 10000 in each of 9 racks)"},
		{"many groups", site("{id: r, nodes: [" + strings.Repeat(group("n[1-99999]")+", ", 3) + "]}"),
			"sites[0].halls[0].racks[0].nodes[1].names", "more than 100000 nodes"},
		{"many names", site("{id: r, nodes: [{names: [" + strings.Repeat("'n[1-99999]', ", 3) + "]}]}"),
			names, "more than 100000 nodes"},
		{"racks", site(strings.Repeat("{id: 'r[1-99999]'}, ", 3)),
			"sites[0].halls[0].racks[1].id", "more than 100000 racks, the limit"},
		// once 21 s and 5.9 GB: 4.5 million names, more with more racks
		{"rack in a range", site("{id: '[1-3000]', nodes: [" + group("n[1-{rack}]") + "]}"),
			names, `"n[1-{rack}]" puts a placeholder inside a range`},
		// each checked in every rack: once 9 s and 1.5 GB
		{"patterns with errors", site("{id: 'r[1-99999]', nodes: [{names: [" + strings.Repeat("'a]', ", 100) + "]}]}"),
			names, "more than 100000 nodes, the limit (these names make 100 in each of 99999 racks)"},
		{"groups without names", site("{id: 'r[1-99999]', nodes: [" + strings.Repeat("{names: [], spine: 'x{rack}'}, ", 100) + "]}"),
			"sites[0].halls[0].racks[0].nodes[1].names", "more than 100000 nodes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := wantErr(t, tt.y, 2, tt.field, tt.want)
			if w.named != 0 {
				t.Errorf("%d names made, want none: the file is refused before", w.named)
			}
		})
	}
}

func TestNodeLimitHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 100,000 nodes")
	}
	// exactly the limit loads, and makes each name once
	y := site(fmt.Sprintf("{id: 'r[1-%d]', nodes: [%s]}", maxNodes/100, group("{rack}-n[1-100]")))
	f, w, err := load("h.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != maxNodes || w.named != maxNodes {
		t.Errorf("%d nodes, %d names made; want %d of each", len(f.Nodes), w.named, maxNodes)
	}
	y = site(fmt.Sprintf("{id: 'r[1-%d]', nodes: [%s]}, {id: x, nodes: [%s]}", maxNodes/100, group("{rack}-n[1-100]"), group("x1")))
	wantErr(t, y, 2, "sites[0].halls[0].racks[1].nodes[0].names", "more than 100000 nodes")
}

// TestValidIdent checks the name check, a loop run once per node, against
// the regular expression it replaced.
func TestValidIdent(t *testing.T) {
	oracle := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	cases := []string{"", "a", "A9", "-a", ".a", "_a", "a-b.c_d", "a b", "a/b", "é", "a\n", "a]", strings.Repeat("a", 63), strings.Repeat("a", 64)}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aZ09._-/ [\n\xff"
	for range 20000 {
		b := make([]byte, rng.IntN(70))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(4) > 0 {
				b[i] = 'a'
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := validIdent(s), oracle.MatchString(s); got != want {
			t.Errorf("validIdent(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestMergeKeysRepeated(t *testing.T) {
	// each level merges the one below ten times: once 10^11 merges
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i <= 11; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	b.WriteString(site("{id: r, nodes: [{<<: *a11, names: n1, cpus: 1, memory_gib: 1, base_watts: 1}]}"))
	w, _ := wantErr(t, b.String(), 1, "sites[0].halls[0].racks[0].nodes[0].x", "unknown field")
	if w.values > 200 {
		t.Errorf("%d values decoded, want each merged mapping once", w.values)
	}
}

func TestCohortChain(t *testing.T) {
	// c0 -> c1 -> ... -> c5000 and a cycle of 5,000 beside it: each walk
	// up once cost its whole chain (n²/2 steps; 20,000 cohorts ran for
	// minutes)
	const n = 5000
	var b strings.Builder
	b.WriteString(site("{id: r, nodes: [" + group("n1") + "]}"))
	b.WriteString("cohorts:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: c%d, parent: c%d}\n", i, i+1)
	}
	fmt.Fprintf(&b, "  - {name: c%d}\n", n)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: x%d, parent: x%d}\n", i, (i+1)%n)
	}
	w, _ := wantErr(t, b.String(), n+5, "cohorts[5001].parent", "cohorts form a cycle: x0 -> x1 -> x2")
	if w.steps > 3*n {
		t.Errorf("%d steps for %d cohorts, want each walked once", w.steps, 2*n+1)
	}
}

func TestListsInMessages(t *testing.T) {
	// n names defined, n references to undefined ones: each message
	// listed all n, so the check cost n² and wrote n² bytes of errors
	const n = 3000
	each := func(format string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	nodes := site("{id: r, nodes: [" + group("n1") + "]}")
	for _, tt := range []struct {
		name, y string
		line    int
		field   string
		want    string
	}{
		{"cohorts of tenants", nodes + "cohorts:\n" + each("  - {name: c%d}\n") + "tenants:\n" + each("  - {name: t%d, cohort: x}\n"),
			n + 5, "tenants[0].cohort", `cohort "x" is not defined; add it under cohorts or fix the name (defined: c0, c1, c10, c100, c1000, c1001, c1002, c1003, c1004, c1005, c1006, c1007, c1008, c1009, c101, c1010, c1011, c1012, c1013, c1014 and 2980 more)`},
		{"parents", nodes + "cohorts:\n" + each("  - {name: c%d, parent: x}\n"),
			4, "cohorts[0].parent", `cohort "x" is not defined; defined: c0, c1, c10, c100, c1000, c1001, c1002, c1003, c1004, c1005, c1006, c1007, c1008, c1009, c101, c1010, c1011, c1012, c1013, c1014 and 2980 more`},
		{"priority classes", nodes + "priority_classes:\n" + each("  - {name: p%d, value: 1}\n") + "tenants:\n" + each("  - {name: t%d, priority_classes: [x]}\n"),
			n + 5, "tenants[0].priority_classes", `priority class "x" is not defined; defined: p0, p1, p10, p100, p1000, p1001, p1002, p1003, p1004, p1005, p1006, p1007, p1008, p1009, p101, p1010, p1011, p1012, p1013, p1014 and 2980 more`},
		{"jurisdictions", strings.Replace(nodes, "country: FR,", "country: FR, jurisdictions: [FR"+each(", J%d")+"],", 1) + "tenants:\n" + each("  - {name: t%d, jurisdictions: [X]}\n"),
			4, "tenants[0].jurisdictions", `no site carries jurisdiction "X", so the tenant could run nowhere there; sites carry: FR, J0, J1, J10, J100, J1000, J1001, J1002, J1003, J1004, J1005, J1006, J1007, J1008, J1009, J101, J1010, J1011, J1012, J1013 and 2981 more`},
		{"GPU models", "gpu_models: {" + each("M%d: {vendor: v, memory_gib: 1, tdp_watts: 1, idle_watts: 1, bf16_tflops: 1},\n") + "}\n" +
			site("{id: r, nodes: ["+strings.TrimSuffix(each("{names: n%d, gpu_model: X, gpus: 1, cpus: 1, memory_gib: 1, base_watts: 1}, "), ", ")+"]}"),
			n + 3, "sites[0].halls[0].racks[0].nodes[0].gpu_model", `unknown GPU model "X"; known models: A100, B200, GB200, GB300, H100, H200, M0, M1, M10, M100, M1000, M1001, M1002, M1003, M1004, M1005, M1006, M1007, M1008, M1009 and 2987 more (define new ones under gpu_models)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := wantErr(t, tt.y, tt.line, tt.field, tt.want)
			for _, e := range errs {
				if len(e.Msg) > 1000 {
					t.Fatalf("%d-byte message, want lists cut at %d names: %.300s…", len(e.Msg), maxListed, e.Msg)
				}
			}
		})
	}
}

func TestQuotaChecks(t *testing.T) {
	// each quota added up all the nodes: tenants × nodes steps
	const tenants = 2000
	var b strings.Builder
	b.WriteString(site("{id: 'r[1-200]', nodes: [" + group("{rack}-n[1-100]") + "]}"))
	b.WriteString("tenants:\n")
	for i := range tenants {
		fmt.Fprintf(&b, "  - {name: t%d, jurisdictions: [FR], quota: {H100: {nominal: 8}}}\n", i)
	}
	b.WriteString("cohorts:\n")
	for i := range tenants {
		fmt.Fprintf(&b, "  - {name: c%d, quota: {H100: {nominal: 8}}}\n", i)
	}
	f, w, err := load("h.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != 20000 || len(f.Tenants) != tenants {
		t.Fatalf("%d nodes, %d tenants", len(f.Nodes), len(f.Tenants))
	}
	if w.steps > 2*tenants {
		t.Errorf("%d steps for %d quotas, want about one each", w.steps, 2*tenants)
	}
}

func TestSiteLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\nsites:\n")
	for i := range maxSites + 1 {
		fmt.Fprintf(&b, "  - {id: s%d, country: FR, operator: o, power_envelope_kw: 1, pue: 1.1, halls: [{id: h, racks: [{id: r, nodes: [{names: n%d, cpus: 1, memory_gib: 1, base_watts: 1}]}]}]}\n", i, i)
	}
	w, _ := wantErr(t, b.String(), maxSites+3, "sites[1000]", "more than 1000 sites, the limit")
	if w.named != 0 {
		t.Errorf("%d names made, want none", w.named)
	}
}

func TestYAMLShapeLimits(t *testing.T) {
	keys := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "  M%d: {tdp_watts: 1}\n", i)
		}
		return b.String()
	}
	for _, tt := range []struct {
		name, y string
		line    int
		want    string
	}{
		// 20,000 brackets: 1.2 s and 640 MB in the parser; 100,000 ran
		// for 80 s and 15 GB
		{"flow nesting", "name: t\nx: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n",
			2, "nesting deeper than 32 levels, the limit"},
		{"block nesting", "name: t\nx:\n" + func() string {
			var b strings.Builder
			for i := range 40 {
				b.WriteString(strings.Repeat(" ", i+1) + "- \n")
			}
			return b.String()
		}(), 34, "nesting deeper than 32 levels, the limit"},
		{"dashes", "name: t\nx:\n" + strings.Repeat("- ", 100) + "v\n", 3, "nesting deeper than 32 levels"},
		// 10,000 keys in one mapping: 1.8 s; 40,000: 32 s
		{"keys", "name: t\ngpu_models:\n" + keys(20000), 259, "a mapping with more than 256 keys, the limit"},
		// 4 MB of brackets made 4 million tokens: 3 s and 1.1 GB
		// before the parser began
		{"marks", "name: t\nx: [" + strings.Repeat("1,", maxMarks/2) + "1]\n", 2, "more than 5000000 words and marks, the limit"},
		{"brackets", "name: t\nx:\n" + strings.Repeat("[]\n", maxMarks/2) + "]\n", maxMarks / 2, "more than 5000000 words and marks, the limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, errs := wantErr(t, tt.y, tt.line, "", tt.want)
			if len(errs) != 1 || w.values != 0 {
				t.Errorf("%d errors, %d values decoded: want the file refused before it is parsed", len(errs), w.values)
			}
		})
	}
	// the limits themselves pass
	y := "name: t\ngpu_models:\n" + keys(maxKeys) + "x: " + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + "\n"
	_, errs := wantErr(t, y, 1, "sites", "missing required field")
	for _, e := range errs {
		if strings.Contains(e.Msg, "the limit") {
			t.Errorf("at the limits: %v", e)
		}
	}
}

func TestLongNames(t *testing.T) {
	// a long pattern, template or id is copied into every rack: 100 kB
	// over 99,999 racks took 30 to 60 s and 10 to 40 GB
	long := strings.Repeat("x", 10000)
	for _, tt := range []struct {
		name, y, field, want string
		named                int // names made: none but for the spine
	}{
		{"pattern", site("{id: 'r[1-999]', nodes: [" + group("{rack}"+long) + "]}"),
			"sites[0].halls[0].racks[0].nodes[0].names", "a pattern of 10006 characters, more than 256, the limit", 0},
		{"spine", site("{id: 'r[1-999]', nodes: [{names: '{rack}', spine: '{rack}" + long + "'}]}"),
			"sites[0].halls[0].racks[0].nodes[0].spine", "10006 characters, more than 256, the limit", 999},
		{"rack id", site("{id: 'r[1-999]" + long + "', nodes: [" + group("{rack}") + "]}"),
			"sites[0].halls[0].racks[0].id", "10008 characters, more than 256, the limit", 0},
		{"site id", strings.Replace(site("{id: 'r[1-999]', nodes: ["+group("{rack}-{site}")+"]}"), "id: s,", "id: s"+long+",", 1),
			"sites[0].id", `"sxxxxxxxxx`, 0},
		{"hall id", strings.Replace(site("{id: 'r[1-999]', nodes: ["+group("{rack}-{hall}")+"]}"), "id: h,", "id: h"+long+",", 1),
			"sites[0].halls[0].id", `is not a valid name`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, errs := wantErr(t, tt.y, 2, tt.field, tt.want)
			if w.named != tt.named {
				t.Errorf("%d names made, want %d", w.named, tt.named)
			}
			for _, e := range errs {
				if len(e.Msg) > 300 {
					t.Errorf("a %d-byte message: %.100s…", len(e.Msg), e.Msg)
				}
			}
		})
	}
}

func TestLongStrings(t *testing.T) {
	// one long string, used by a thousand tenants through an alias: each
	// use hashed, compared and quoted it (2 MB took 27 to 34 s and 6 to
	// 15 GB)
	long := strings.Repeat("x", 200_000)
	tenants := func(format string) string {
		var b strings.Builder
		b.WriteString("tenants:\n")
		for i := range 1000 {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	nodes := site("{id: r, nodes: [" + group("n1") + "]}")
	for _, tt := range []struct{ name, y string }{
		{"value", "x: &s '" + long + "'\n" + nodes + tenants("  - {name: t%d, cohort: *s}\n")},
		{"key", "x: &q {'" + long + "': {nominal: 1}}\n" + nodes + tenants("  - {name: t%d, quota: *q}\n")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, errs := wantErr(t, tt.y, 1, "", "the file expands (through aliases) to more than 2000000 values (a long string counts one for every 64 bytes)")
			if w.values > maxValues+len(long) {
				t.Errorf("%d values, want the budget to stop the decoding", w.values)
			}
			size := 0
			for _, e := range errs {
				size += len(e.Error())
			}
			if size > 1<<20 {
				t.Errorf("%d bytes of errors, want long strings cut", size)
			}
		})
	}
}

func TestPatternErrorOncePerEntry(t *testing.T) {
	// a wrong pattern is as wrong in every rack of its entry: it was
	// checked, and reported, in each of them (99,999 racks: 1.3 s under
	// the fuzzer)
	y := site("{id: 'r[1-40000]', nodes: [" + group("{rack}-n[1-") + ", " + group("{rack}-a") + "]}")
	_, errs := wantErr(t, y, 2, "sites[0].halls[0].racks[0].nodes[0].names", `"r1-n[1-" has a '[' that is not closed`)
	if len(errs) != 1 {
		t.Errorf("%d errors, want the pattern's once:\n%v", len(errs), errs[:min(len(errs), 3)])
	}
}
