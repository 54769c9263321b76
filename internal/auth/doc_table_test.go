package auth

import (
	"os"
	"strings"
	"testing"
)

// TestSecurityDocListsEveryOperation checks the table of classes in
// docs/security.md against Ops: every operation is named, in backquotes,
// in the row of its class, so that a route added (or a merge) does not
// leave the table behind.
func TestSecurityDocListsEveryOperation(t *testing.T) {
	b, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	names := map[Class]string{
		Authenticated: "Authenticated", TenantRead: "TenantRead", TenantWrite: "TenantWrite",
		JobControl: "JobControl", ClusterRead: "ClusterRead", ClusterWrite: "ClusterWrite",
		NodeFence: "NodeFence", AuditRead: "AuditRead", AuditExport: "AuditExport",
		TokenAdmin: "TokenAdmin", SecretRead: "SecretRead", SecretWrite: "SecretWrite",
		NodeAgent: "NodeAgent", Enroll: "Enroll",
	}
	rows := map[string]string{} // class name -> its row's operations cell
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		name := strings.TrimSpace(cells[1])
		for _, n := range names {
			if n == name {
				rows[name] = cells[2]
			}
		}
	}
	for op, class := range Ops {
		name, ok := names[class]
		if !ok {
			t.Errorf("operation %s: class %d has no name in this test", op, class)
			continue
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("docs/security.md: no row for class %s", name)
			continue
		}
		if !strings.Contains(row, "`"+op+"`") {
			t.Errorf("docs/security.md: the row of class %s does not name `%s`", name, op)
		}
	}
}
