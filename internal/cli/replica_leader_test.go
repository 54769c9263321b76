package cli

import (
	"os"
	"testing"

	"github.com/carnot-dc/carnot/internal/store"
)

// A standby forwards requests, their Authorization header included, only
// to an https:// leader address: a lease whose address was written as
// plain http:// (by whoever can write the database) would otherwise have
// every standby send the callers' tokens over the network in clear text.
func TestStandbyForwardsToHTTPSLeadersOnly(t *testing.T) {
	for _, c := range []struct {
		address string
		want    string // the operator API forwarded to; "" for none
	}{
		{"https://10.0.0.1:7460 https://10.1.0.1:7461", "https://10.1.0.1:7461"},
		{"http://10.0.0.1:7460 http://10.1.0.1:7461", ""},
		{"https://10.0.0.1:7460 HTTP://10.1.0.1:7461", ""},
		{"https://10.0.0.1:7460 ftp://10.1.0.1:7461", ""},
	} {
		r := &replica{holder: "me", lease: store.Lease{Holder: "other", Valid: true, Address: c.address}}
		got := ""
		if u := r.leaderURL(true); u != nil {
			got = u.String()
		}
		if got != c.want {
			t.Errorf("lease address %q: forwards the operator API to %q; want %q", c.address, got, c.want)
		}
	}
}

// A replica listening on every interface (--listen 0.0.0.0:7460, the
// usual way) gives the other replicas its host name in the lease, which
// its certificate names and they may reach, not 0.0.0.0: a standby
// forwarding there connected to itself, and its certificate check
// failed, so no request went through a standby.
func TestLeaseGivesAReachableAddress(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		t.Skip("no host name")
	}
	r := &replica{cp: &controlPlane{url: "https://0.0.0.0:7460", adminURL: "https://[::]:7461"}}
	want := "https://" + host + ":7460 https://" + host + ":7461"
	if got := r.address(); got != want {
		t.Errorf("the lease's address of a replica listening on every interface: %q; want %q", got, want)
	}
	r.cp.url, r.cp.adminURL = "https://10.0.0.1:7460", "https://10.1.0.1:7461"
	if got := r.address(); got != "https://10.0.0.1:7460 https://10.1.0.1:7461" {
		t.Errorf("the lease's address of a replica listening on one address: %q; want that address", got)
	}
}
