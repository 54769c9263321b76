package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A node the facility file moves to another site enrolls there with a
// join token of its new site: the file is the operator's word on where a
// node is, over the site of its first enrollment (which still keeps a
// join token of another site from taking over a name the file does not
// list). A join token of its old site can no longer enroll it.
func TestNodeMovedByTheFacilityFileEnrollsInItsNewSite(t *testing.T) {
	fac := func(site string) *model.Facility {
		f := twoSitesAB()
		f.Nodes = []model.Node{{Name: "m1", Site: site, Hall: site + "-hall", GPUModel: "H100", GPUs: 8, CPUs: 32, MemoryGiB: 256}}
		return f
	}
	ca := testCA(t)
	withCA := func(c *Config) { c.CA = ca }
	join := func(e *env, site string) string {
		tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-" + site, Role: "join", Site: site}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret
	}
	e := newEnv(t, fac("x"), false)
	e.s.cfg.CA = ca
	if code, _ := e.doWith(withBearer(join(e, "x")), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil); code != http.StatusOK {
		t.Fatalf("enroll m1 in site x: %d", code)
	}
	e.s.store.Close()

	e = openEnv(t, e.dir, fac("y"), false, e.clock, withCA)
	var en api.Enrolled
	if code, _ := e.doWith(withBearer(join(e, "y")), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), &en); code != http.StatusOK || en.Site != "y" {
		t.Errorf("enroll m1, which the facility now lists in site y, with a join token of y: %d %+v; want 200 in site y", code, en)
	}
	if code, _ := e.doWith(withBearer(join(e, "x")), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), nil); code != http.StatusForbidden {
		t.Errorf("enroll m1 with a join token of its old site x: %d; want 403", code)
	}
	if code, _ := e.doWith(withBearer(join(e, "y")), "POST", "/v1/agent/enroll", enrollBody(t, "other"), nil); code != http.StatusOK {
		t.Fatalf("enroll other in y: %d", code)
	}
	if code, _ := e.doWith(withBearer(join(e, "x")), "POST", "/v1/agent/enroll", enrollBody(t, "other"), nil); code != http.StatusForbidden {
		t.Errorf("enroll other, enrolled in y and not listed, with a join token of x: %d; want 403", code)
	}
}

// A node name enrolled in a site the facility file has since removed
// enrolls in another site: the old site cannot hold it any more (its
// nodes are refused), so its first enrollment protects nothing.
func TestNodeOfARemovedSiteEnrollsElsewhere(t *testing.T) {
	ca := testCA(t)
	join := func(e *env, site string) string {
		tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join-" + site, Role: "join", Site: site}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret
	}
	e := newEnv(t, twoSitesAB(), true)
	e.s.cfg.CA = ca
	if code, _ := e.doWith(withBearer(join(e, "x")), "POST", "/v1/agent/enroll", enrollBody(t, "m2"), nil); code != http.StatusOK {
		t.Fatalf("enroll m2 in site x: %d", code)
	}
	e.s.store.Close()
	noX := twoSitesAB()
	noX.Sites, noX.Halls = noX.Sites[1:], noX.Halls[1:]
	e = openEnv(t, e.dir, noX, true, e.clock, func(c *Config) { c.CA = ca })
	var en api.Enrolled
	if code, out := e.doWith(withBearer(join(e, "y")), "POST", "/v1/agent/enroll", enrollBody(t, "m2"), &en); code != http.StatusOK || en.Site != "y" {
		t.Errorf("enroll m2, enrolled in removed site x, in site y: %d %s; want 200 in y", code, out)
	}
}
