package pki

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A node's own server (the agent's log server) is reached by identity:
// the right node of the right CA is accepted; another node, another
// site, another CA's node and an expired certificate are refused.
func TestNodeServerConfig(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	serve := func(c *CA, site, node string, ttl time.Duration) string {
		t.Helper()
		key, _ := NewNodeKey()
		csr, _ := NodeCSR(key, node)
		certPEM, err := c.SignNode(csr, site, node, ttl)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := encodeKeyPEM(key)
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "logs") }))
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
		hs.StartTLS()
		t.Cleanup(hs.Close)
		return hs.URL
	}
	get := func(url, site, node string) error {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: NodeServerConfig(ca.Pool(), site, node)}}
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	good := serve(ca, "par1", "gpu-1", time.Hour)
	if err := get(good, "par1", "gpu-1"); err != nil {
		t.Errorf("the right node: %v", err)
	}
	for _, c := range []struct {
		name, url, site, node, want string
	}{
		{"another node", good, "par1", "gpu-2", "not node gpu-2"},
		{"another site", good, "fra1", "gpu-1", "not node gpu-1 of site fra1"},
		{"another CA", serve(other, "par1", "gpu-1", time.Hour), "par1", "gpu-1", "unknown authority"},
		{"expired", serve(ca, "par1", "gpu-1", time.Nanosecond), "par1", "gpu-1", "expired"},
	} {
		time.Sleep(2 * time.Millisecond)
		if err := get(c.url, c.site, c.node); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
