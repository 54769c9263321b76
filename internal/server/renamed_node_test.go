package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// registerWith registers node name in site with GPUs of the given UUIDs.
func (e *env) registerWith(name, site string, uuids []string) int {
	e.t.Helper()
	reg := api.Register{Name: name, Site: site, Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
	for i, u := range uuids {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, UUID: u, Model: "H100"})
	}
	return e.do("POST", "/v1/agent/register", reg, nil)
}

// A node renamed (its machine's hostname changed) registers under its
// new name with the GPUs of its old one, by their UUIDs. The old node,
// silent since, can never come back with those GPUs: it is forgotten,
// with an event naming both, instead of staying listed for ever as not
// ready, its GPUs counted in its site and its base and idle power
// reserved in its envelope. A restart does not bring it back.
func TestRenamedNodeForgetsItsOldName(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	gpus := uuidsOf("gpu-old", 8)
	if code := e.registerWith("gpu-old", "local", gpus); code != http.StatusOK {
		t.Fatalf("register gpu-old: %d", code)
	}
	e.clock.add(time.Minute)
	e.pass() // gpu-old is not ready
	if code := e.registerWith("gpu-new", "local", gpus); code != http.StatusOK {
		t.Fatalf("register gpu-new with gpu-old's GPUs: %d", code)
	}
	if code := e.do("GET", "/v1/nodes/gpu-old", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET gpu-old once its GPUs registered as gpu-new: %d; want 404", code)
	}
	evs := e.nodeEvents("gpu-old", "gpu-new")
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "forgotten") {
		t.Errorf("gpu-old's events naming gpu-new %+v; want one saying it is forgotten", evs)
	}
	var sites api.SiteList
	if code := e.do("GET", "/v1/sites", nil, &sites); code != 200 || sites.Sites[0].Nodes != 1 || sites.Sites[0].GPUs != 8 {
		t.Errorf("sites %d %+v; want 1 node, 8 GPUs", code, sites.Sites)
	}
	for _, n := range e.s.fac.Nodes {
		if n.Name == "gpu-old" {
			t.Errorf("the facility still holds gpu-old (its power counts in the site)")
		}
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if code := e.do("GET", "/v1/nodes/gpu-old", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET gpu-old after a restart: %d; want 404", code)
	}
}

// The old node stays when it may still matter: it is drained or fenced
// (an operator's word, which must hold when it comes back), it is still
// heard from, or only some of its GPUs moved (a board swapped).
func TestOldNodeStaysWhenNotPlainlyRenamed(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(e *env)
		moved int // of its 8 GPUs
	}{
		{"drained", func(e *env) { e.do("POST", "/v1/nodes/gpu-old/drain", nil, nil) }, 8},
		{"fenced", func(e *env) { e.do("POST", "/v1/nodes/gpu-old/fence", nil, nil) }, 8},
		{"heard from", nil, 8},
		{"one board moved", nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, DevFacility("local", "FR"), true)
			old := uuidsOf("gpu-old", 8)
			if code := e.registerWith("gpu-old", "local", old); code != http.StatusOK {
				t.Fatalf("register gpu-old: %d", code)
			}
			if c.setup != nil {
				c.setup(e)
			}
			if c.name != "heard from" {
				e.clock.add(time.Minute)
				e.pass()
			}
			gpus := append(old[:c.moved:c.moved], uuidsOf("gpu-new-other", 8)[c.moved:]...)
			if code := e.registerWith("gpu-new", "local", gpus); code != http.StatusOK {
				t.Fatalf("register gpu-new: %d", code)
			}
			if code := e.do("GET", "/v1/nodes/gpu-old", nil, nil); code != http.StatusOK {
				t.Errorf("GET gpu-old: %d; want it kept", code)
			}
		})
	}
}
