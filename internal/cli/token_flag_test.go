package cli

import (
	"strings"
	"testing"
)

// --token works but warns, as --join-token does, that the command line
// is visible to every user of the machine, naming the private ways;
// $CARNOT_TOKEN warns of nothing.
func TestTokenFlagWarns(t *testing.T) {
	srv := fenceServer(t)
	code, out, errs := carnot("fence", "--token", "admin", "n1", "--server", srv.URL)
	if code != 0 || out != "node n1 fenced (not-ready,fenced, 0/8 GPUs in use)\n" {
		t.Fatalf("carnot fence --token admin n1: exit %d, %q, %q", code, out, errs)
	}
	for _, want := range []string{"warning: --token", "ps", "$CARNOT_TOKEN"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q does not say %q", errs, want)
		}
	}
	if strings.Contains(errs, "admin") {
		t.Errorf("the warning repeats the token: %q", errs)
	}
	t.Setenv("CARNOT_TOKEN", "admin")
	if code, out, errs := carnot("fence", "n1", "--server", srv.URL); code != 0 || errs != "" {
		t.Errorf("carnot fence n1 with $CARNOT_TOKEN: exit %d, %q, stderr %q; want no warning", code, out, errs)
	}
}
