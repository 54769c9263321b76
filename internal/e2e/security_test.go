package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// carnotAs runs the CLI against d with another token (no token: "").
func (d *dev) carnotAs(token string, args ...string) (string, error) {
	cmd := exec.Command(carnotBin, args...)
	env := append(cmd.Environ(), d.env()...)
	cmd.Env = append(env, "CARNOT_TOKEN="+token)
	cmd.Dir = d.Work
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), &cliError{err: ee, stderr: string(ee.Stderr)}
	}
	return string(out), err
}

// Tokens and roles through the real binary: an operator-admin makes a
// member token of tenant default; the member runs jobs but cannot touch
// nodes; revoked, the token stops working; without credentials every
// listener answers 401, and neither speaks plain HTTP. Then no token, join
// token nor secret value appears in the database files or the logs.
func TestSecurityTokensRolesAndLeaks(t *testing.T) {
	d := startDev(t)
	out, err := d.carnot("token", "create", "alice", "--role", "member", "--tenant", "default", "-o", "json")
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	var alice api.Token
	if err := json.Unmarshal([]byte(out), &alice); err != nil || !strings.HasPrefix(alice.Secret, "carnot_") {
		t.Fatalf("token create printed %q (%v)", out, err)
	}
	if who, err := d.carnotAs(alice.Secret, "whoami"); err != nil || !strings.Contains(who, "token:alice/"+alice.ID+": role member, tenant default") {
		t.Errorf("whoami as alice: %q, %v", who, err)
	}
	if out, err := d.carnotAs(alice.Secret, "run", "-f", "--gpus", "1", "--", "echo", "hi"); err != nil || !strings.Contains(out, "hi") {
		t.Errorf("alice's job: %q, %v", out, err)
	}
	if _, err := d.carnotAs(alice.Secret, "drain", "node-1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("alice draining a node: %v, want permission denied", err)
	}
	if _, err := d.carnotAs(alice.Secret, "token", "create", "mallory", "--role", "operator-admin"); err == nil {
		t.Errorf("a member created an operator-admin token")
	}
	if _, err := d.carnot("token", "revoke", alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.carnotAs(alice.Secret, "jobs"); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("a revoked token: %v, want refused as revoked", err)
	}

	// Without credentials; and plain HTTP.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: d.tlsConfig()}}
	for _, u := range []string{d.URL + "/v1/jobs", d.AdminURL + "/v1/nodes", d.AdminURL + "/healthz", d.URL + "/v1/audit/export"} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without credentials: %d, want 401 with WWW-Authenticate", u, resp.StatusCode)
		}
		plain := strings.Replace(u, "https://", "http://", 1)
		if resp, err := http.Get(plain); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || bytes.Contains(b, []byte(`"jobs"`)) {
				t.Errorf("plain HTTP %s answered %d %q", plain, resp.StatusCode, b)
			}
		}
	}

	// A join token and a secret, then a look for every secret in the
	// database files and the logs.
	join, err := d.carnot("token", "create", "rack-1", "--role", "join", "--site", "local", "--ttl", "1h")
	if err != nil {
		t.Fatal(err)
	}
	join = strings.TrimSpace(join)
	const secretValue = "s3cr3t-value-e2e-7f3a9c"
	if _, err := d.cl.PutSecret(context.Background(), "hf-token", api.SecretValue{Tenant: "default", Value: secretValue}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	var files []string
	filepath.Walk(d.Dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.Contains(p, "carnot.db") || strings.HasSuffix(p, ".log") || strings.Contains(p, "/logs/")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 2 {
		t.Fatalf("found only %v to search", files)
	}
	logs := d.output()
	for name, secret := range map[string]string{"alice's token": alice.Secret, "the join token": join,
		"the secret's value": secretValue, "the dev token": d.Token} {
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s is in %s in clear", name, f)
			}
		}
		want := 0
		if secret == d.Token {
			want = 1 // the banner carnot dev prints once on its terminal, by design
		}
		if n := strings.Count(logs, secret); n != want {
			t.Errorf("%s appears %d times in carnot dev's output, want %d", name, n, want)
		}
	}
}

// A second node enrolls with a join token of the site: its agent gets a
// certificate binding it to the site, registers over mTLS and runs work;
// restarted without the token it reuses its certificate; asked to join
// another site it refuses to start (its certificate binds it).
func TestAgentEnrollsWithJoinToken(t *testing.T) {
	d := startDev(t)
	join, err := d.carnot("token", "create", "rack-2", "--role", "join", "--site", "local", "--ttl", "10m")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agent := func(extra ...string) *exec.Cmd {
		args := append([]string{"agent", "--server", d.AdminURL, "--ca", d.CA, "--name", "node-2", "--data-dir", dir,
			"--fake-gpus", "2", "--log-level", "debug"}, extra...)
		cmd := exec.Command(carnotBin, args...)
		cmd.Env = os.Environ()
		return cmd
	}
	var registered time.Time // of the previous start
	start := func(extra ...string) *exec.Cmd {
		cmd := agent(extra...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
		d.waitFor("node-2 to be ready", 20*time.Second, func() bool {
			n, err := d.cl.GetNode(context.Background(), "node-2")
			if err == nil && n.Condition == api.NodeReady && n.Site == "local" && n.Registered.After(registered) {
				registered = n.Registered
				return true
			}
			return false
		})
		return cmd
	}
	a := start("--join-token", strings.TrimSpace(join))
	if _, err := os.Stat(filepath.Join(dir, "node.crt")); err != nil {
		t.Fatalf("no certificate after enrollment: %v", err)
	}
	a.Process.Signal(os.Interrupt)
	a.Wait()
	start() // no join token: the certificate in its data directory
	out, err := agent("--site", "elsewhere").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "binds it to site local") {
		t.Errorf("agent --site elsewhere: %v\n%s", err, out)
	}
}
