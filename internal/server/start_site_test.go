package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// TestStartEntriesNameTheSites: a tenant checks from its own audit
// entries that its work ran where it may. Nodes are the facility's
// names, and which site a node is in is operator-only (GET /v1/nodes,
// node events of no tenant): a start entry naming nodes only proves
// nothing about where. It names each site its replicas went to, with
// that site's jurisdiction tags at the start.
func TestStartEntriesNameTheSites(t *testing.T) {
	signer, _ := auditKeys(t)
	e := newEnv(t, twoSites(), true)
	a, err := newAuditor("carnot audit sites", signer)
	if err != nil {
		t.Fatal(err)
	}
	e.s.audit = a
	for _, n := range []struct{ name, site string }{{"n1", "fr"}, {"n2", "de"}} {
		if code := e.register(n.name, n.site, 8); code != 200 {
			t.Fatalf("register %s: %d", n.name, code)
		}
	}
	gang := e.submit(spec(8, 1, "jurisdictions", []string{"DE"}))
	e.pass()
	if j := e.job(gang); j.State != api.StateRunning || j.Replicas[0].Node != "n2" {
		t.Fatalf("the job is %s on %+v: %s", j.State, j.Replicas, j.Message)
	}
	member := tokenFor(t, e.s, "member", "default")
	var mine api.AuditEntries
	if code, body := e.doWith(withBearer(member), "GET", "/v1/audit/entries", nil, &mine); code != 200 {
		t.Fatalf("the tenant's entries: %d %s", code, body)
	}
	found := false
	for _, ae := range mine.Entries {
		en, err := audit.ParseEntry(ae.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if en.Job != gang || en.Action != api.EventStarted {
			continue
		}
		found = true
		if want := "site de [EU DE]"; !strings.Contains(en.Detail, want) {
			t.Errorf("the start entry %q does not say %q", en.Detail, want)
		}
	}
	if !found {
		t.Fatalf("no start entry among the tenant's %d entries", len(mine.Entries))
	}
}
