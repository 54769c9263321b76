package sched

import (
	"sort"
	"testing"
)

// TestFirstFit: firstFit answers as sort.Search for every monotone
// predicate, with at most one probe of the whole range.
func TestFirstFit(t *testing.T) {
	for n := 0; n <= 70; n++ {
		for first := 0; first <= n; first++ {
			whole := 0
			fits := func(k int) bool {
				if k == n-1 {
					whole++
				}
				return k >= first
			}
			if got, want := firstFit(n, fits), sort.Search(n, func(k int) bool { return k >= first }); got != want {
				t.Fatalf("n=%d first=%d: firstFit %d, sort.Search %d", n, first, got, want)
			}
			if whole > 2 {
				t.Fatalf("n=%d first=%d: the whole range was probed %d times", n, first, whole)
			}
		}
	}
}
