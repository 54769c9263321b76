package fleet

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
)

// A node whose certificate has less than a third of its life left
// renews it with that certificate, without a join token (a join token
// enrolls a node name once).
func TestFleetRenewsACertificateNearItsEnd(t *testing.T) {
	s := startServerWith(t, time.Second, 2*time.Minute) // 2 minutes left of 7 from the issue
	dir := t.TempDir()
	if _, err := New(context.Background(), s.config(2, dir)); err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Join(dir, "vn-0001")
	first, err := pki.LoadNode(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.config(2, dir)
	cfg.JoinToken = ""
	if _, err := New(context.Background(), cfg); err != nil {
		t.Fatalf("a fleet whose node's certificate is near its end, without a join token: %v", err)
	}
	renewed, err := pki.LoadNode(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 || renewed.Leaf.NotAfter.Before(first.Leaf.NotAfter) {
		t.Errorf("vn-0001's certificate after the fleet started: serial %x, valid until %s; want a new one, valid no less than the first (%s)",
			renewed.Leaf.SerialNumber, renewed.Leaf.NotAfter, first.Leaf.NotAfter)
	}
}

// A running fleet renews its nodes' certificates before they expire,
// with those certificates: their heartbeats, each on a new connection, go
// on past the end of the certificates they started with.
func TestRunningFleetRenewsItsCertificates(t *testing.T) {
	const ttl = 4 * time.Second
	s := startServerWith(t, 100*time.Millisecond, ttl)
	dir := t.TempDir()
	f := s.start(s.config(2, dir))
	var end time.Time // the latest end of the nodes' first certificates
	first := map[string]time.Time{}
	for _, n := range f.Nodes() {
		cert, err := pki.LoadNode(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		first[n] = cert.Leaf.NotAfter
		if cert.Leaf.NotAfter.After(end) {
			end = cert.Leaf.NotAfter
		}
	}
	past := end.Add(time.Second)
	s.waitFor("heartbeats past the end of the nodes' first certificates", time.Until(past)+3*ttl, func() bool {
		nodes, err := s.admin.ListNodes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		beating := 0
		for _, n := range nodes.Nodes {
			if n.LastHeartbeat.After(past) {
				beating++
			}
		}
		return beating == len(first)
	})
	for n, was := range first {
		cert, err := pki.LoadNode(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if !cert.Leaf.NotAfter.After(was) {
			t.Errorf("node %s's certificate in its directory expires at %s, as its first; want a renewed one", n, cert.Leaf.NotAfter)
		}
	}
}

// A fleet node's client, once its certificate is renewed (Reconnect),
// sends every request over a new connection, presenting the renewed
// certificate: not over one in use during the renewal (the long poll,
// a heartbeat), which would otherwise go back to its pool and carry the
// node's next request with the certificate it was made with, which the
// server refuses once the renewed one is used (a 401, and a WARN of a
// failed heartbeat).
func TestFleetNodeLeavesItsConnectionsOfBeforeARenewal(t *testing.T) {
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
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	if hs.TLS, err = pki.ServerConfig(srvCert, ca.Pool(), pki.RequireClientCert); err != nil {
		t.Fatal(err)
	}
	hs.StartTLS()
	defer hs.Close()
	held := pki.NewNodeCert(signedNode(t, ca, "vn-0000"))
	var dials atomic.Int64
	c, err := nodeClient(hs.URL, held.ClientConfig(ca.Pool()), &dials, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	beat := func() seen {
		t.Helper()
		if _, err := c.Heartbeat(ctx, "vn-0000", api.Heartbeat{}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}
	beat()
	polled := make(chan error, 1)
	go func() { _, err := c.Assignments(ctx, "vn-0000", 0, time.Minute); polled <- err }()
	<-entered
	beat()
	mu.Lock()
	old := map[string]bool{}
	for _, s := range got {
		old[s.conn] = true
	}
	mu.Unlock()

	renewed := signedNode(t, ca, "vn-0000")
	held.Set(renewed)
	c.Reconnect()
	beat() // while the long poll still holds its connection
	close(release)
	if err := <-polled; err != nil {
		t.Fatal(err)
	}
	want := renewed.Leaf.SerialNumber.String()
	for range 3 {
		if s := beat(); s.serial != want || old[s.conn] {
			t.Fatalf("a heartbeat after the renewal went over connection %s (one of before: %v) with certificate %s; want a new connection with the renewed certificate %s",
				s.conn, old[s.conn], s.serial, want)
		}
	}
	if n := dials.Load(); n < 3 {
		t.Errorf("%d connections counted; want the fleet's figure to count those made after the renewal", n)
	}
}

// signedNode is a certificate of ca for node, with its key.
func signedNode(t *testing.T, ca *pki.CA, node string) tls.Certificate {
	t.Helper()
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNode(csr, "local", node, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
}
