package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
)

// An agent started on another node's data directory under another name
// (a mistyped --name, the default hostname) is told whose certificate is
// there, not only that it has none.
func TestAgentUnderAnotherNameSaysWhoseCertificateItFound(t *testing.T) {
	cp := startTestServer(t)
	ctx := context.Background()
	join, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, _, err := enrollNode(ctx, cp.adminURL, dir, "n1", join.Secret, cp.caFile); err != nil {
		t.Fatalf("enroll n1: %v", err)
	}
	_, _, _, err = enrollNode(ctx, cp.adminURL, dir, "n9", "", "")
	want := "the certificate there is node n1's, of site local: give --name n1 to run that node's agent, or, to enroll n9"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("agent n9 on n1's data directory: %v; want it to say %q", err, want)
	}
}
