package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// fenceServer answers fence and unfence as the server does: 404 for a
// node other than n1 or n2, 403 for a token other than "admin".
func fenceServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	op := func(fenced bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("name")
			switch {
			case r.Header.Get("Authorization") != "Bearer admin":
				problem(w, 403, "permission denied: role operator may not fence a node: only an operator-admin fences, unfences, forgets, re-enrolls or revokes a node")
			case name != "n1" && name != "n2" && name != "n3":
				problem(w, 404, `no node "`+name+`"`)
			case fenced && name == "n3" && r.URL.Query().Get("force") != "true":
				problem(w, 409, "node n3 is live (ready; its agent reported 0s ago) and runs 1 job(s), whose replicas there a fence would stop now: j-1 (tenant default, 1 replica(s)). "+
					"To take it out of service and keep that work, drain it (carnot drain n3) and fence it once it runs nothing or is off; to stop that work and fence it now: carnot fence --force n3 (POST /v1/nodes/n3/fence?force=true)")
			default:
				reply(w, 200, api.Node{Name: name, Condition: api.NodeNotReady, Fenced: fenced, GPUs: 8})
			}
		}
	}
	mux.HandleFunc("POST /v1/nodes/{name}/fence", op(true))
	mux.HandleFunc("POST /v1/nodes/{name}/unfence", op(false))
	mux.HandleFunc("DELETE /v1/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch name := r.PathValue("name"); {
		case r.Header.Get("Authorization") != "Bearer admin":
			problem(w, 403, "permission denied: role operator may not forget a node")
		case name == "n2":
			problem(w, 409, "node n2 cannot be forgotten: the facility file lists it; remove it there and restart the server")
		case name != "n1":
			problem(w, 404, `no node "`+name+`"`)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFenceCmd(t *testing.T) {
	srv := fenceServer(t)
	for _, c := range []struct {
		args              []string
		code              int
		stdout, stderrHas string
	}{
		{[]string{"fence", "--token", "admin", "n1", "n2"}, 0,
			"node n1 fenced (not-ready,fenced, 0/8 GPUs in use)\nnode n2 fenced (not-ready,fenced, 0/8 GPUs in use)\n", ""},
		{[]string{"unfence", "--token", "admin", "n1"}, 0, "node n1 unfenced (not-ready, 0/8 GPUs in use)\n", ""},
		{[]string{"fence", "--token", "admin", "n1", "nope"}, ExitFailure, "node n1 fenced (not-ready,fenced, 0/8 GPUs in use)\n",
			"nope: no node \"nope\"\nerror: 1 of 2 nodes failed: nope"},
		{[]string{"fence", "--token", "ops", "n1"}, ExitFailure, "", "only an operator-admin fences, unfences, forgets, re-enrolls or revokes a node"},
		{[]string{"fence", "--token", "admin", "n3"}, ExitFailure, "", "j-1 (tenant default, 1 replica(s))"},
		{[]string{"fence", "--token", "admin", "--force", "n3"}, 0, "node n3 fenced (not-ready,fenced, 0/8 GPUs in use)\n", ""},
		{[]string{"forget-node", "--token", "admin", "n1"}, 0, "node n1 forgotten\n", ""},
		{[]string{"forget-node", "--token", "admin", "n2"}, ExitFailure, "", "the facility file lists it"},
	} {
		code, out, errs := carnot(append(c.args, "--server", srv.URL)...)
		if code != c.code || out != c.stdout || !strings.Contains(errs, c.stderrHas) {
			t.Errorf("carnot %s: exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q",
				strings.Join(c.args, " "), code, out, errs, c.code, c.stdout, c.stderrHas)
		}
	}
}

func TestNodesTableShowsFence(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	err := nodesTable(&b, now, []api.Node{
		{Name: "n1", Site: "paris", Condition: api.NodeNotReady, Fenced: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now.Add(-time.Hour)},
		{Name: "n2", Site: "paris", Condition: api.NodeDraining, Fenced: true, Drained: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now},
	})
	want := []string{"n1    paris  not-ready,fenced ", "n2    paris  draining,fenced "}
	for _, w := range want {
		if err != nil || !strings.Contains(b.String(), w) {
			t.Errorf("nodes table (err %v):\n%s\nwant a line with %q", err, b.String(), w)
		}
	}
}

// A node whose agent cannot write its data directory takes no new work:
// the table says why it drains.
func TestNodesTableShowsDiskError(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	err := nodesTable(&b, now, []api.Node{
		{Name: "n1", Site: "paris", Condition: api.NodeDraining, DiskError: "no space left on device", GPUModel: "H100", GPUs: 8, LastHeartbeat: now},
	})
	if w := "n1    paris  draining,disk-error "; err != nil || !strings.Contains(b.String(), w) {
		t.Errorf("nodes table (err %v):\n%s\nwant a line with %q", err, b.String(), w)
	}
}

// A node the server has not heard from since it started takes no new work
// until its agent reports: the table says why it drains.
func TestNodesTableShowsNotHeardSinceRestart(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	err := nodesTable(&b, now, []api.Node{
		{Name: "n1", Site: "paris", Condition: api.NodeDraining, NotHeardSinceRestart: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now},
	})
	if w := "n1    paris  draining,not-heard-since-restart "; err != nil || !strings.Contains(b.String(), w) {
		t.Errorf("nodes table (err %v):\n%s\nwant a line with %q", err, b.String(), w)
	}
}

// A node whose certificates are revoked says so in the table, beside the
// draining it shows.
func TestNodesTableShowsRevoked(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	err := nodesTable(&b, now, []api.Node{
		{Name: "n1", Site: "paris", Condition: api.NodeDraining, CertificatesRevoked: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now},
	})
	if w := "n1    paris  draining,revoked "; err != nil || !strings.Contains(b.String(), w) {
		t.Errorf("nodes table (err %v):\n%s\nwant a line with %q", err, b.String(), w)
	}
}

// A node that may still run work the server no longer assigns it counts
// at nameplate and takes nothing (api.Node.Unreachable): the table says
// so, the node an operator may fence once it is known to be off.
func TestNodesTableShowsUnreachable(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	err := nodesTable(&b, now, []api.Node{
		{Name: "n1", Site: "paris", Condition: api.NodeNotReady, Unreachable: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now.Add(-time.Hour)},
		{Name: "n2", Site: "paris", Condition: api.NodeReady, Unreachable: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now},
		{Name: "n3", Site: "paris", Condition: api.NodeReady, Fenced: true, Unreachable: true, GPUModel: "H100", GPUs: 8, LastHeartbeat: now},
		{Name: "n4", Site: "paris", Condition: api.NodeNotReady, GPUModel: "H100", GPUs: 8, LastHeartbeat: now.Add(-time.Hour)},
	})
	for _, w := range []string{"n1    paris  not-ready,unreachable ", "n2    paris  ready,unreachable ", "n3    paris  ready,fenced,unreachable ", "n4    paris  not-ready "} {
		if err != nil || !strings.Contains(b.String(), w) {
			t.Errorf("nodes table (err %v):\n%s\nwant a line with %q", err, b.String(), w)
		}
	}
}

// A node changed by fence, drain and their opposites is reported with
// its whole condition, as carnot nodes shows it: a live node fenced said
// "fenced (ready, …)", as if fencing had not taken.
func TestNodeOpReportsTheWholeCondition(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/nodes/{name}/fence", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Node{Name: r.PathValue("name"), Condition: api.NodeReady, Fenced: true, GPUs: 8})
	})
	mux.HandleFunc("POST /v1/nodes/{name}/drain", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Node{Name: r.PathValue("name"), Condition: api.NodeNotReady, Drained: true, GPUs: 8, GPUsUsed: 2})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for args, want := range map[string]string{
		"fence": "node n1 fenced (ready,fenced, 0/8 GPUs in use)\n",
		"drain": "node n1 drained (not-ready,drained, 2/8 GPUs in use)\n",
	} {
		code, out, errs := carnot(args, "--token", "admin", "n1", "--server", srv.URL)
		if code != 0 || out != want {
			t.Errorf("carnot %s n1: exit %d, stdout %q, stderr %q; want %q", args, code, out, errs, want)
		}
	}
}

// A node with GPUs its agent reports down (lost) says how many beside
// its GPUs: nothing is placed on them.
func TestNodesTableShowsGPUsDown(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	err := nodesTable(&b, now, []api.Node{
		{Name: "n1", Site: "paris", Condition: api.NodeReady, GPUsDown: []api.GPUDown{{Index: 3, Reason: "lost"}}, GPUModel: "H100", GPUs: 8, GPUsUsed: 2, LastHeartbeat: now},
	})
	if w := "ready      2/8 (1 down)  H100"; err != nil || !strings.Contains(b.String(), w) {
		t.Errorf("nodes table (err %v):\n%s\nwant a line with %q", err, b.String(), w)
	}
}
