package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// twoTenants is recapFacility's node with tenants default and lab-a.
var twoTenants = strings.NewReplacer("  - name: default\n", "  - name: default\n  - name: lab-a\n", "  power_recap: true\n", "").Replace(recapFacility)

// startTwoTenants starts carnot dev on twoTenants.
func startTwoTenants(t *testing.T) *dev {
	t.Helper()
	facFile := filepath.Join(t.TempDir(), "facility.yaml")
	if err := os.WriteFile(facFile, []byte(twoTenants), 0o644); err != nil {
		t.Fatal(err)
	}
	return startDev(t, "--facility", facFile, "--site", "s1", "--fake-gpus", "8")
}

// createToken creates a token with the CLI as the token given (the dev
// token when "") and returns it.
func (d *dev) createToken(as string, args ...string) (api.Token, error) {
	args = append(append([]string{"token", "create"}, args...), "-o", "json")
	var out string
	var err error
	if as == "" {
		out, err = d.carnot(args...)
	} else {
		out, err = d.carnotAs(as, args...)
	}
	var tok api.Token
	if err == nil {
		err = json.Unmarshal([]byte(out), &tok)
	}
	return tok, err
}

// `carnot run` without --tenant submits as the token's tenant; with the
// dev token, bound to no tenant, as the facility's tenant default.
func TestRunWithoutTenant(t *testing.T) {
	d := startTwoTenants(t)
	alice, err := d.createToken("", "alice", "--role", "member", "--tenant", "lab-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ who, token, tenant string }{{"alice (member of lab-a)", alice.Secret, "lab-a"}, {"the dev token", d.Token, "default"}} {
		out, err := d.carnotAs(tc.token, "run", "-o", "json", "--gpus", "1", "--", "echo", "hi")
		var j api.Job
		if err == nil {
			err = json.Unmarshal([]byte(out), &j)
		}
		if err != nil || j.Tenant != tc.tenant {
			t.Errorf("run as %s: %v, job %+v; want a job of %s", tc.who, err, j, tc.tenant)
		}
	}
}

// A tenant-admin's `carnot token create NAME --role member` without
// --tenant makes a token of its own tenant.
func TestTenantAdminTokenWithoutTenant(t *testing.T) {
	d := startTwoTenants(t)
	admin, err := d.createToken("", "lab-a-admin", "--role", "tenant-admin", "--tenant", "lab-a")
	if err != nil {
		t.Fatal(err)
	}
	m3, err := d.createToken(admin.Secret, "m3", "--role", "member")
	if err != nil || m3.Tenant != "lab-a" || m3.Role != "member" {
		t.Fatalf("token create m3 --role member as lab-a's tenant-admin: %v, %+v; want a member token of lab-a", err, m3)
	}
	if who, err := d.carnotAs(m3.Secret, "whoami"); err != nil || !strings.Contains(who, "role member, tenant lab-a") {
		t.Errorf("whoami as m3: %q, %v", who, err)
	}
}
