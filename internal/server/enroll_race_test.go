package server

import (
	"encoding/json"
	"sync"
	"testing"
)

// Two join tokens of different sites enrolling one new name at the same
// moment: one of them wins, and the stored enrollment names its site.
// (Read-check-write without a lock let both get certificates, and the
// record named whichever wrote last.)
func TestConcurrentEnrollmentsOfOneName(t *testing.T) {
	f := newFixture(t) // join tokens of sites x and y
	e := f.e
	for i := range 20 {
		name := "race-" + string(rune('a'+i))
		bodies := map[string]any{"x": enrollBody(t, name), "y": enrollBody(t, name)}
		codes := map[string]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for site, body := range bodies {
			wg.Go(func() {
				code, _ := e.doWith(withBearer(f.join[site]), "POST", "/v1/agent/enroll", body, nil)
				mu.Lock()
				codes[site] = code
				mu.Unlock()
			})
		}
		wg.Wait()
		won := ""
		for site, code := range codes {
			if code == 200 {
				if won != "" {
					t.Fatalf("%s: both join tokens (x and y) got a certificate", name)
				}
				won = site
			}
		}
		if won == "" {
			t.Fatalf("%s: neither enrollment succeeded: %v", name, codes)
		}
		doc, err := e.s.store.Record(t.Context(), recNode, name)
		if err != nil {
			t.Fatal(err)
		}
		var rec enrolledNode
		if err := json.Unmarshal(doc, &rec); err != nil || rec.Site != won {
			t.Fatalf("%s: the record names site %q (%v); the certificate went to %s", name, rec.Site, err, won)
		}
	}
}
