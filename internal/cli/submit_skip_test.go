package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/server"
)

// After a submission that stopped part way, --skip-existing submits the
// file again past the jobs that exist; without it the first of them
// stops the submission, as before.
func TestSubmitSkipExisting(t *testing.T) {
	ts := openTenantServer(t, t.TempDir(), "", server.Config{DynamicNodes: true})
	tok, err := ts.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, all := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "all.yaml")
	a := "- {id: sw-a, tenant: default, gpus: 0, cpus: 1, command: [train]}\n"
	writeTestFile(t, first, a)
	writeTestFile(t, all, a+"- {id: sw-b, tenant: default, gpus: 0, cpus: 1, command: [train]}\n")
	t.Setenv("CARNOT_TOKEN", tok.Secret) // --token would warn on stderr
	args := func(extra ...string) []string {
		return append([]string{"submit", "--server", ts.url}, extra...)
	}
	if code, _, errs := carnot(args("-f", first)...); code != 0 {
		t.Fatalf("first submission: exit %d: %s", code, errs)
	}
	if code, _, errs := carnot(args("-f", all)...); code == 0 || !strings.Contains(errs, `a job with id "sw-a" exists`) {
		t.Errorf("again without --skip-existing: exit %d, stderr %q; want a failure at sw-a", code, errs)
	}
	code, out, errs := carnot(args("-f", all, "--skip-existing")...)
	if code != 0 || out != "submitted job sw-b (pending)\n" || errs != "skipped job sw-a: it exists already\n" {
		t.Errorf("--skip-existing: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestSubmitSkipAllJSON: with -o json and every job skipped, submit
// printed nothing at all and exited 0, where a script reads a list; and
// a failure with nothing submitted printed nothing either. -o json
// always prints the list of the jobs submitted, [] when none, also
// when the submission stops part way.
func TestSubmitSkipAllJSON(t *testing.T) {
	ts := openTenantServer(t, t.TempDir(), "", server.Config{DynamicNodes: true})
	tok, err := ts.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jobs.yaml")
	writeTestFile(t, file, "- {id: sk-a, tenant: default, gpus: 0, cpus: 1, command: [train]}\n")
	args := []string{"submit", "--server", ts.url, "--token", tok.Secret, "-f", file, "-o", "json"}
	if code, _, errs := carnot(args...); code != 0 {
		t.Fatalf("first submission: exit %d: %s", code, errs)
	}
	want := "{\n  \"jobs\": []\n}\n"
	if code, out, errs := carnot(append(args, "--skip-existing")...); code != 0 || out != want {
		t.Errorf("--skip-existing, all skipped: exit %d, stdout %q, stderr %q; want stdout %q", code, out, errs, want)
	}
	if code, out, errs := carnot(args...); code != ExitFailure || out != want {
		t.Errorf("refused, nothing submitted: exit %d, stdout %q, stderr %q; want exit 1, stdout %q", code, out, errs, want)
	}
}
