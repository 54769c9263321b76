package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// An enrollment's answer says when the certificate it issued expires:
// its own end, which the CA's end cuts short (a certificate outlives no
// CA), not the server's lifetime of node certificates from now.
func TestEnrollmentAnswerSaysTheCertificatesEnd(t *testing.T) {
	e := openEnv(t, t.TempDir(), DevFacility("local", "FR"), true, &clock{t: time.Now().UTC()},
		func(c *Config) { c.CA, c.NodeCertTTL = testCA(t), 20*365*24*time.Hour })
	join, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "join", Role: "join", Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var en api.Enrolled
	code, out := e.doWith(withBearer(join.Secret), "POST", "/v1/agent/enroll", enrollBody(t, "m1"), &en)
	if code != http.StatusOK {
		t.Fatalf("enrollment of m1: %d %s", code, out)
	}
	cert := parseCert(t, en.Certificate)
	if !en.Expires.Equal(cert.NotAfter) {
		t.Errorf("the answer's expires: %s; want the certificate's end, %s (the CA's: %s)", en.Expires, cert.NotAfter, testCA(t).Certificate().NotAfter)
	}
}
