package cli

import (
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
