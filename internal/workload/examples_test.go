package workload

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the generated example workloads under examples/")

// TestExampleWorkloads: examples/jobs-*-generated.jsonl are what
// `carnot workload generate --facility examples/F.yaml --jobs N --seed 1`
// writes (docs/jobspec.md), that is GenerateRunnable's jobs. After a
// change to the generator, go test ./internal/workload -run
// TestExampleWorkloads -rewrite rewrites them; review the diff.
func TestExampleWorkloads(t *testing.T) {
	for _, tt := range []struct {
		facility, jobs string
		n              int
	}{
		{"small.yaml", "jobs-small-generated.jsonl", 200},
		{"paris.yaml", "jobs-paris-generated.jsonl", 500},
	} {
		fac, err := facility.LoadFile(filepath.Join("..", "..", "examples", tt.facility))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := jobspec.Write(&buf, GenerateRunnable(fac, tt.n, 1, start)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "examples", tt.jobs)
		if *rewrite {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(old, buf.Bytes()) {
			t.Errorf("%s is not GenerateRunnable's %d jobs for %s, seed 1; rerun with -rewrite and review the diff", tt.jobs, tt.n, tt.facility)
		}
	}
}
