package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/server"
)

// What the server refuses of a job carnot run built is said with the
// flag (or COMMAND) the user typed next to the spec's field: before, the
// answer named only the field ("max_retries: must be ≤ 100 (got 200)")
// of a job file the user never wrote.
func TestRunNamesTheFlagOfARefusedField(t *testing.T) {
	ts := openTenantServer(t, t.TempDir(), "", server.Config{DynamicNodes: true})
	tok, err := ts.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--gpus", "1", "--replicas", "0", "--", "echo"}, "\n  replicas (--replicas): must be ≥ 1 (got 0)"},
		{[]string{"--gpus", "1", "--restart", "on-failure", "--max-retries", "200", "--", "echo"}, "\n  max_retries (--max-retries): must be ≤ 100 (got 200)"},
		{[]string{"--gpus", "5000", "--", "echo"}, "\n  gpus (--gpus): must be ≤ 4096 (got 5000)"},
		{[]string{"--gpus", "1", "--", ""}, "\n  command[0] (COMMAND): must not be empty"},
		{[]string{"--gpus", "1", "--jurisdiction", "EU", "--jurisdiction", "EU", "--", "echo"}, "\n  jurisdictions[1] (--jurisdiction): "},
		{[]string{"--cpus", "1", "--after", "nosuch", "--", "echo"}, "\n  depends_on (--after): no job \"nosuch\" of tenant default"},
	} {
		t.Setenv("CARNOT_TOKEN", tok.Secret)
		out, err := runCLI(t, append([]string{"run", "--server", ts.url}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v (%s); want an error with %q", tc.args, err, out, tc.want)
		}
	}
}

// A deployment run with carnot run may say its minimum (min_replicas),
// as a job file can: before, --kind deployment --replicas 4 on a facility
// with room for 2 was refused, with no flag to ask for fewer.
func TestRunDeploymentMinReplicas(t *testing.T) {
	f := newFake(t)
	code, _, errs := carnot("run", "--server", f.srv.URL, "--kind", "deployment", "--replicas", "4", "--min-replicas", "2", "--gpus", "4", "vllm", "serve")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := f.requests("POST", "/v1/deployments")
	if len(r) != 1 || !strings.Contains(string(r[0].body), `"replicas":4,"min_replicas":2,`) {
		t.Errorf("submissions %+v; want one deployment with min_replicas 2", r)
	}
}

// carnot run --after holds the job until the jobs it names succeed;
// carnot why says so.
func TestRunAfter(t *testing.T) {
	ts := openTenantServer(t, t.TempDir(), "", server.Config{DynamicNodes: true})
	tok, err := ts.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARNOT_TOKEN", tok.Secret)
	if out, err := runCLI(t, "run", "--server", ts.url, "--id", "prep", "--cpus", "1", "--", "echo"); err != nil {
		t.Fatalf("run prep: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "run", "--server", ts.url, "--id", "train", "--after", "prep", "--cpus", "1", "--", "echo"); err != nil {
		t.Fatalf("run --after prep: %v\n%s", err, out)
	}
	out, err := runCLI(t, "why", "--server", ts.url, "train")
	if err != nil || !strings.Contains(out, "dependency: waits for prep (pending) to succeed") {
		t.Errorf("why train: %v\n%s\nwant the dependency on prep", err, out)
	}
	if out, err := runCLI(t, "run", "--server", ts.url, "--id", "clean", "--after", "train,afterany:prep,afternotok:prep", "--cpus", "1", "--", "echo"); err == nil ||
		!strings.Contains(out+err.Error(), `depends_on[2] (--after): job "prep" is listed twice`) {
		t.Errorf("run --after naming prep twice: %v\n%s\nwant it refused, naming --after", err, out)
	}
	if out, err := runCLI(t, "run", "--server", ts.url, "--id", "clean", "--after", "train,afterany:prep", "--cpus", "1", "--", "echo"); err != nil {
		t.Fatalf("run --after train,afterany:prep: %v\n%s", err, out)
	}
	out, err = runCLI(t, "why", "--server", ts.url, "clean")
	if err != nil || !strings.Contains(out, "dependency: waits for train (pending) to succeed and prep (pending) to end") {
		t.Errorf("why clean: %v\n%s\nwant the dependencies on train and prep", err, out)
	}
}
