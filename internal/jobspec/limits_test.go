package jobspec

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
	"github.com/carnot-dc/carnot/internal/yamlin/yamlintest"
)

// Job files that took seconds or gigabytes to read before the limits
// (docs/jobspec.md#limits). Each test asserts the error and a bound on
// the work counted, never the wall time, so that a loaded machine cannot
// make it flaky.

// wantLimit loads data as name and checks that it is refused at one of
// the limits l with one error, want on line (see yamlintest.Refused).
func wantLimit(t *testing.T, name string, data []byte, l yamlin.Limits, line int, want string, parsed bool) {
	t.Helper()
	_, w, err := load(name, data, testFacility(), mode{})
	yamlintest.Refused(t, err, w, l, name, line, want, parsed)
}

// keys writes n block-mapping keys indented by ind.
func keys(n int, ind string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%sK%d: x\n", ind, i)
	}
	return b.String()
}

// TestYAMLLimits: each document is refused before the parser builds its
// syntax tree.
func TestYAMLLimits(t *testing.T) {
	block := func(levels int) string {
		var b strings.Builder
		b.WriteString("- tenant: acme\n  gpus: 1\n  command:\n")
		for i := range levels {
			b.WriteString(strings.Repeat(" ", i+4) + "-\n")
		}
		return b.String()
	}
	// padding is a comment of n bytes, which makes two words and one token
	padding := func(n int) string { return "# " + strings.Repeat("x", n) + "\n" }
	first, pad17 := "- {tenant: acme, gpus: 1}\n", strings.Repeat(padding(1<<20), 17)
	for _, tt := range []struct {
		name, y string
		line    int
		want    string
	}{
		// 20,000 brackets: 0.6 s and 640 MB in the parser; 50,000:
		// 4.3 s and 3.8 GB
		{"flow nesting", "- {tenant: acme, gpus: 1, command: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}\n",
			1, "nesting deeper than 32 levels, the limit"},
		{"block nesting", block(40), 34, "nesting deeper than 32 levels, the limit"},
		// 20,000 keys in one block mapping: 2.5 s; 40,000: 7.7 s and
		// 6.3 GB allocated
		{"keys", "- tenant: acme\n  gpus: 1\n  env:\n" + keys(20000, "    "), 3 + 257, "a mapping with more than 256 keys, the limit"},
		// a million "- []" lines: 6.3 s and 1.3 GB
		{"marks", "- {tenant: acme, gpus: 1, command: [" + strings.Repeat("a,", 2_500_000) + "a]}\n",
			1, "the document has more than 5000000 words and marks, the limit"},
		// the line on which the document passes 16 MiB
		{"document size", first + pad17,
			17, fmt.Sprintf("the document is %d bytes, above the 16777216 limit; split the jobs into several documents (---) or write them as JSON Lines", len(first+pad17))},
		{"second document", first + "---\n" + pad17,
			2 + 16, fmt.Sprintf("the document is %d bytes, above the 16777216 limit", len("---\n"+pad17))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// the first document of "second document" is parsed
			wantLimit(t, "j.yaml", []byte(tt.y), docLimits, tt.line, tt.want, tt.name == "second document")
		})
	}
	// Each document is bounded on its own: 20 MB of documents loads.
	var b strings.Builder
	for i := range 3 {
		fmt.Fprintf(&b, "%s- {id: j%d, tenant: acme, gpus: 1}\n---\n", padding(7<<20), i)
	}
	if jobs, err := Load("j.yaml", []byte(b.String()), testFacility()); err != nil || len(jobs) != 3 {
		t.Errorf("three documents of 7 MB: %d jobs, %v", len(jobs), err)
	}
	// The limits themselves pass: a block mapping of 256 keys (an env
	// of 256 variables, the most a job may have) at 32 levels.
	y := "- tenant: acme\n  gpus: 1\n  env:\n" + keys(256, "    ") + "  command: [" + strings.Repeat("[", 29) + strings.Repeat("]", 29) + "]\n"
	_, err := Load("j.yaml", []byte(y), testFacility())
	if got := errLines(t, err); len(got) != 1 || !strings.Contains(got[0], "j.yaml:260: jobs[0].command[0]: must be a string (got a list)") {
		t.Errorf("at the limits: %q", got)
	}
}

// TestAliasLimit: an alias makes a loader walk its anchor's values
// again; one job of 4,096 command arguments named by 30,000 aliases (a
// 160 kB file) decoded 120 million values in 7 s and 2 GB.
func TestAliasLimit(t *testing.T) {
	const args = 4096
	anchor := "- &j {tenant: acme, gpus: 1, command: [" + strings.TrimSuffix(strings.Repeat("a, ", args), ", ") + "]}\n"
	y := anchor + strings.Repeat("- *j\n", 30000)
	// the job counts its mapping, 3 keys, 2 scalars, the list and its
	// items; the list of jobs one more
	job := 1 + 3 + 2 + 1 + args
	aliases := (docLimits.Values-(1+job))/job + 1 // the alias that passes the limit
	wantLimit(t, "j.yaml", []byte(y), docLimits, 1+aliases, "the document has more than 10000000 values, the limit", true)
	// each level of lists names the one below ten times: 10^9 strings
	laughs := "- {tenant: acme, gpus: 1, command: &a0 [x, x, x, x, x, x, x, x, x, x]}\n"
	for i := 1; i < 10; i++ {
		laughs += fmt.Sprintf("- {tenant: acme, gpus: 1, command: &a%d [%s]}\n", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	wantLimit(t, "j.yaml", []byte(laughs), docLimits, 7, "the document has more than 10000000 values, the limit", true)
}

// TestJSONLLimits: each line is bounded on its own; the whole file only
// far above any workload.
func TestJSONLLimits(t *testing.T) {
	ok := `{"tenant":"acme","gpus":1}`
	// 1.1 million values on one line of 2.2 MB
	many := `{"tenant":"acme","gpus":1,"command":[` + strings.Repeat("1,", 1_100_000) + `1]}`
	wantLimit(t, "j.jsonl", []byte(many+"\n"), lineLimits, 1, "the line has more than 1048576 values, the limit", true)
	// the lines around one too long are read
	long := `{"tenant":"acme","gpus":1,"workdir":"/` + strings.Repeat("x", 16<<20) + `"}`
	wantLimit(t, "j.jsonl", []byte(ok+"\n"+long+"\n"+ok+"\n"), lineLimits, 2, fmt.Sprintf("the line is %d bytes, above the 16777216 limit", len(long)), true)
	deep := `{"tenant":"acme","gpus":1,"command":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	wantLimit(t, "j.jsonl", []byte(deep), lineLimits, 1, "nesting deeper than 32 levels, the limit", true)

	// The largest job the field limits allow loads, on a line and as a
	// YAML document.
	big := job("big", "acme", 1, func(j *model.Job) {
		for i := range maxListLen {
			j.Command = append(j.Command, fmt.Sprintf("%0*d", maxStrLen, i))
		}
		j.Env = map[string]string{}
		for i := range maxEnvVars {
			j.Env[fmt.Sprintf("V%0*d", maxEnvName-1, i)] = strings.Repeat("v", maxEnvValue)
		}
	})
	var buf bytes.Buffer
	if err := Write(&buf, []*model.Job{big}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"big.jsonl", "big.yaml"} {
		jobs, w, err := load(name, buf.Bytes(), testFacility(), mode{})
		if err != nil || len(jobs) != 1 || len(jobs[0].Command) != maxListLen {
			t.Fatalf("%s: the largest job (%d bytes) did not load: %v", name, buf.Len(), err)
		}
		t.Logf("%s: the largest job is %d bytes, %d values", name, buf.Len(), w.Values)
	}
}

// TestFileLimit: a job file above the limit is refused by its size,
// without being read.
func TestFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// a sparse file: no disk, and reading it would take a gigabyte
	if err := f.Truncate(int64(fileLimits.Bytes) + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = LoadFile(path, nil)
	want := path + ": the file is 1073741825 bytes, above the 1073741824 limit; split the workload into several files"
	if got := errLines(t, err); len(got) != 1 || got[0] != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
