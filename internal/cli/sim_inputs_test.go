package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimOutKeepsInputs: carnot sim removes its outputs from --out DIR
// before it runs, and a trace named jobs.csv in DIR (--philly
// DIR/jobs.csv --out DIR) was deleted unread. An input that is one of
// DIR's output files is refused as a usage error, and stays.
func TestSimOutKeepsInputs(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "trace", "testdata", "philly-sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trace := filepath.Join(dir, simJobs)
	vc := filepath.Join(dir, "vc.csv")
	writeTestFile(t, trace, string(sample))
	writeTestFile(t, vc, "vc,node num\n6214e9,64\n7f04ca,32\n11cb48,16\nb436b2,64\ne13805,16\n103959,8\nee9e8c,64\n2869ce,16\ned69ec,8\n0e4a51,32\n6c71a0,32\n")
	for _, out := range []string{dir, dir + string(filepath.Separator) + "."} {
		var outb, errb bytes.Buffer
		code := Main([]string{"sim", "--philly", trace, "--vc-nodes", vc, "--out", out}, &outb, &errb)
		if code != ExitUsage {
			t.Errorf("--out %s with --philly %s: exit %d, want %d; stderr:\n%s", out, trace, code, ExitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), "--philly") || !strings.Contains(errb.String(), "--out") {
			t.Errorf("the error names neither the input nor --out:\n%s", errb.String())
		}
		got, err := os.ReadFile(trace)
		if err != nil || !bytes.Equal(got, sample) {
			t.Fatalf("the --philly input in --out was removed or changed: %v", err)
		}
	}
}
