package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A revoked node comes back only through a reenroll-node given after
// the revocation, also when the facility file has moved it to another
// site, or no longer has the site it enrolled in: a join token of its
// new site enrolls it there once an operator-admin allowed it, not
// before. (The move let a join token of the new site take the name of a
// node revoked for a stolen key.)
func TestRevokedNodeMovedByTheFacilityNeedsReenroll(t *testing.T) {
	ca := testCA(t)
	withCA := func(c *Config) { c.CA = ca }
	join := func(e *env, site string) string {
		tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-" + site, Role: "join", Site: site}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret
	}
	listed := func(site string) *model.Facility {
		f := twoSitesAB()
		f.Nodes = []model.Node{{Name: "m1", Site: site, Hall: site + "-hall", GPUModel: "H100", GPUs: 8, CPUs: 32, MemoryGiB: 256}}
		return f
	}
	noX := twoSitesAB()
	noX.Sites, noX.Halls = noX.Sites[1:], noX.Halls[1:]
	for _, c := range []struct {
		name   string
		before *model.Facility
		after  *model.Facility
	}{
		{"moved by the facility file", listed("x"), listed("y")},
		{"its site removed", twoSitesAB(), noX},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openEnv(t, t.TempDir(), c.before, true, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, withCA)
			if code, out := e.doWith(withBearer(join(e, "x")), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil); code != http.StatusOK {
				t.Fatalf("enroll m1 in site x: %d %s", code, out)
			}
			if code := e.do("POST", "/v1/nodes/m1/revoke", nil, nil); code != http.StatusNoContent {
				t.Fatalf("revoke m1: %d", code)
			}
			e.s.store.Close()
			e = openEnv(t, e.dir, c.after, true, e.clock, withCA)
			code, out := e.doWith(withBearer(join(e, "y")), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil)
			if code != http.StatusConflict || !strings.Contains(string(out), "revoked") || !strings.Contains(string(out), "carnot reenroll-node m1") {
				t.Errorf("a join token of site y enrolling revoked m1: %d %s; want 409 saying it was revoked and naming reenroll-node", code, out)
			}
			if code := e.do("POST", "/v1/nodes/m1/reenroll", nil, nil); code != http.StatusOK {
				t.Fatalf("reenroll-node m1: %d", code)
			}
			var en api.Enrolled
			if code, out := e.doWith(withBearer(join(e, "y")), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), &en); code != http.StatusOK || en.Site != "y" {
				t.Errorf("a join token of site y enrolling m1 after reenroll-node: %d %s; want 200 in site y", code, out)
			}
		})
	}
}
