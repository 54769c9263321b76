package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/pki"
)

// signedNode is a certificate of ca for node n1, with its key.
func signedNode(t *testing.T, ca *pki.CA) tls.Certificate {
	t.Helper()
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, "n1")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNode(csr, "local", "n1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: key, Leaf: leaf}
}

// After Reconnect (a renewed client certificate), every request goes
// over a new connection, presenting the certificate held now: neither
// the connections idle then nor one in use then (an agent's long poll)
// carries another request, as they would keep presenting the old
// certificate until the server refuses it.
func TestReconnectLeavesTheOldConnections(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ serial, conn string }
	var mu sync.Mutex
	var got []seen
	entered, release := make(chan struct{}), make(chan struct{})
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.TLS.PeerCertificates[0].SerialNumber.String(), r.RemoteAddr})
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/assignments") {
			close(entered)
			<-release
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	}))
	if hs.TLS, err = pki.ServerConfig(srvCert, ca.Pool(), pki.RequireClientCert); err != nil {
		t.Fatal(err)
	}
	hs.StartTLS()
	defer hs.Close()
	first := signedNode(t, ca)
	held := pki.NewNodeCert(first)
	c, err := New(hs.URL, WithTLS(held.ClientConfig(ca.Pool())))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	whoami := func() seen {
		t.Helper()
		if _, err := c.WhoAmI(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}
	whoami()
	polled := make(chan error, 1)
	go func() { _, err := c.Assignments(ctx, "n1", 0, time.Minute); polled <- err }()
	<-entered
	whoami() // a second connection, idle from now on
	mu.Lock()
	old := map[string]bool{}
	for _, s := range got {
		old[s.conn] = true
	}
	mu.Unlock()

	renewed := signedNode(t, ca)
	held.Set(renewed)
	c.Reconnect()
	whoami() // a request while the long poll still holds its connection
	close(release)
	if err := <-polled; err != nil {
		t.Fatal(err)
	}
	want := renewed.Leaf.SerialNumber.String()
	for range 3 {
		if s := whoami(); s.serial != want || old[s.conn] {
			t.Fatalf("a request after Reconnect went over connection %s (one of before: %v) with certificate %s; want a new connection with the renewed certificate %s",
				s.conn, old[s.conn], s.serial, want)
		}
	}
}
