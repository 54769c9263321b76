package workload

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/carnot-dc/carnot/internal/jobspec"
)

// TestGenerateUnchanged pins Generate's output on the benchmark
// facility: the benchmarks' workload (docs/benchmarks.md) is
// Generate(GenerateFacility(DefaultFacilityConfig()), n, 1, …), and
// their figures hold only while it stays the same. A change that means
// to alter it updates the hash and re-measures the figures.
func TestGenerateUnchanged(t *testing.T) {
	fac := GenerateFacility(DefaultFacilityConfig())
	h := sha256.New()
	if err := jobspec.Write(h, Generate(fac, 50_000, 1, start)); err != nil {
		t.Fatal(err)
	}
	const want = "550efce422672e80f55e351a712e02aecb9489ea0d48c5b5e62e1713b69281d6"
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != want {
		t.Errorf("Generate(bench, 50,000, seed 1) hashes to %s, want %s", got, want)
	}
}
