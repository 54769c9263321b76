package cli

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/store"
)

// stalledLeader listens as a stopped leader does (SIGSTOP: the kernel
// still accepts connections): it accepts every connection and never
// answers; with cfg, it completes the TLS handshake first, as a leader
// stopped with a connection open, or stalled past its handshake, does.
// With hangUp, it reads the request instead and closes the connection,
// as a leader that crashes with it does. It returns its address, and
// stop, which closes its connections (also once t ends). Each
// connection accepted is sent on accepted, when not nil (not waited for).
func stalledLeader(t *testing.T, cfg *tls.Config, hangUp bool, accepted chan<- struct{}) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	stop = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
			switch {
			case cfg != nil && hangUp:
				go func() { // reads the request, then closes the connection
					tc := tls.Server(c, cfg)
					tc.Read(make([]byte, 1))
					tc.Close()
				}()
			case cfg != nil:
				go tls.Server(c, cfg).Handshake() // then reads nothing, answers nothing
			}
		}
	}()
	return ln.Addr().String(), stop
}

// forwardCA is a CA of the test's own, with a server certificate of it
// for 127.0.0.1: a leader's or a standby's.
func forwardCA(t *testing.T) (*pki.CA, tls.Certificate) {
	t.Helper()
	ca, _, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca, cert
}

// tlsServer serves h over TLS with cert until t ends.
func tlsServer(t *testing.T, cert tls.Certificate, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// standbyReplica is a standby whose lease names the leader at leaderURL
// (both listeners), trusting roots for its certificate, forwarding
// within lim.
func standbyReplica(roots *x509.CertPool, leaderURL string, lim forwardLimits) *replica {
	r := &replica{holder: "cp-2 (instance 2)", ttl: time.Second,
		lease: store.Lease{Holder: "cp-1 (instance 1)", Valid: true, Epoch: 1, Address: leaderURL + " " + leaderURL}}
	r.forwardVia(roots, lim)
	return r
}

// testStandby is a standby whose lease names the leader at addr (both
// listeners), forwarding within lim; it serves its operator listener's
// handler on a test server.
func testStandby(t *testing.T, ca *pki.CA, addr string, lim forwardLimits) *httptest.Server {
	t.Helper()
	s, _ := testStandbyReplica(t, ca, addr, lim)
	return s
}

// testStandbyReplica is testStandby, with its replica.
func testStandbyReplica(t *testing.T, ca *pki.CA, addr string, lim forwardLimits) (*httptest.Server, *replica) {
	t.Helper()
	r := standbyReplica(ca.Pool(), "https://"+addr, lim)
	s := httptest.NewServer(r.handler(true))
	t.Cleanup(s.Close)
	return s, r
}

// A standby forwarding to a leader that accepts connections but never
// answers (a stopped process) answers its clients within bounds, naming
// the leader and what it waited for: without a TLS handshake the request
// was never sent, and the standby says so with api.StandbyHeader (the
// client may try the next address); once sent, it may have been acted
// on: 504, without the header, so that the client does not send it
// again elsewhere.
func TestStandbyAnswersWhenTheLeaderStalls(t *testing.T) {
	ca, cert := forwardCA(t)
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	lim := forwardLimits{dial: time.Second, tlsHandshake: 300 * time.Millisecond, header: 300 * time.Millisecond}
	for _, c := range []struct {
		name    string
		tls     *tls.Config
		hangUp  bool
		status  int
		standby bool   // api.StandbyHeader set
		says    string // in the detail
	}{
		{"accepts, no TLS handshake", nil, false, http.StatusServiceUnavailable, true, "did not complete the TLS handshake within 300ms"},
		{"handshakes, never answers", tc, false, http.StatusGatewayTimeout, false, "did not answer within 300ms"},
		{"reads the request, hangs up", tc, true, http.StatusBadGateway, false, "broke before it answered"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, stop := stalledLeader(t, c.tls, c.hangUp, nil)
			s := testStandby(t, ca, addr, lim)
			t.Cleanup(stop) // before the standby's server closes: it waits for its requests
			hc := &http.Client{Timeout: 10 * time.Second}
			start := time.Now()
			resp, err := hc.Post(s.URL+"/v1/jobs", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatalf("a request to a standby whose leader stalls: %v after %s; want an answer within the standby's limits", err, time.Since(start).Round(time.Millisecond))
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			leader := "https://" + addr
			if resp.StatusCode != c.status || !strings.Contains(string(body), leader) || !strings.Contains(string(body), c.says) {
				t.Errorf("answer: %d %s; want %d naming the leader %s and saying %q", resp.StatusCode, body, c.status, leader, c.says)
			}
			if got := resp.Header.Get(api.StandbyHeader); (got != "") != c.standby || c.standby && got != leader {
				t.Errorf("%s: %q; want the leader's address: %v", api.StandbyHeader, got, c.standby)
			}
		})
	}
}

// A standby bounds the wait for the leader's answer's header, not its
// body: a watch stream, a followed log, goes on past the limit.
func TestStandbyRelaysStreamsPastItsLimits(t *testing.T) {
	ca, cert := forwardCA(t)
	more := make(chan struct{})
	leader := tlsServer(t, cert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": watching\n\n")
		w.(http.Flusher).Flush()
		<-more
		io.WriteString(w, "data: later\n\n")
	}))
	defer close(more)
	lim := forwardLimits{dial: time.Second, tlsHandshake: time.Second, header: 100 * time.Millisecond}
	s := testStandby(t, ca, strings.TrimPrefix(leader.URL, "https://"), lim)
	resp, err := http.Get(s.URL + "/v1/watch")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(buf[:n]), "watching") {
		t.Fatalf("the stream's start: %d %q %v", resp.StatusCode, buf[:n], err)
	}
	time.Sleep(3 * lim.header) // the stream stays quiet past the limit
	more <- struct{}{}
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rest), "data: later") {
		t.Errorf("the stream after %s quiet: %q; want the leader's next event", 3*lim.header, rest)
	}
}

// A lease whose address of the leader's listener leads to a standby
// (a replica listening on 127.0.0.1, which each machine's standby
// reaches as itself; a leader that just lost the lease) does not make
// standbys forward the request on and on: a standby given a request
// another forwarded answers 503 with api.StandbyHeader, saying what to
// check, and the client moves on.
func TestStandbyForwardsOnceNotInALoop(t *testing.T) {
	ca, cert := forwardCA(t)
	r := &replica{holder: "cp-2 (instance 2)", ttl: time.Second}
	r.forwardVia(ca.Pool(), forwardLimits{dial: time.Second, tlsHandshake: time.Second, header: 2 * time.Second})
	var hops atomic.Int64
	s := tlsServer(t, cert, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hops.Add(1)
		r.handler(true).ServeHTTP(w, req)
	}))
	// The lease names this standby's own address, as one of another
	// machine's replica listening on 127.0.0.1 does.
	r.lease = store.Lease{Holder: "cp-1 (instance 1)", Valid: true, Epoch: 1, Address: s.URL + " " + s.URL}
	hc := s.Client()
	hc.Timeout = 5 * time.Second
	resp, err := hc.Get(s.URL + "/v1/jobs")
	if err != nil {
		t.Fatalf("a request to a standby whose lease names itself: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(api.StandbyHeader) == "" || !strings.Contains(string(body), "--admin-listen") {
		t.Errorf("answer: %d %v %s; want 503 with %s, naming --admin-listen", resp.StatusCode, resp.Header, body, api.StandbyHeader)
	}
	if n := hops.Load(); n != 2 {
		t.Errorf("the request reached the standby %d times; want 2 (the client's, the forwarded one)", n)
	}
}

// A read forwarded to a leader that stalls, sent again once the lease
// names another leader (a failover while it waited), is answered by the
// new leader rather than failing: a read acts on nothing, and a client
// behind one address (a load balancer) would otherwise see the failover.
func TestStandbySendsAReadAgainToTheNewLeader(t *testing.T) {
	ca, cert := forwardCA(t)
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	var posts atomic.Int64
	next := tlsServer(t, cert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		io.WriteString(w, r.Method+" answered by the new leader")
	}))
	accepted := make(chan struct{}, 1)
	addr, stop := stalledLeader(t, tc, false, accepted)
	s, r := testStandbyReplica(t, ca, addr, forwardLimits{dial: time.Second, tlsHandshake: time.Second, header: 300 * time.Millisecond})
	t.Cleanup(stop)
	for _, c := range []struct {
		method string
		want   int // 0: a failure, not the new leader's answer
	}{{"GET", http.StatusOK}, {"POST", 0}} {
		r.noteLease(store.Lease{Holder: "cp-1 (instance 1)", Valid: true, Epoch: 1, Address: "https://" + addr + " https://" + addr})
		go func() { // the failover, while the request waits on the stalled leader
			<-accepted
			r.noteLease(store.Lease{Holder: "cp-3 (instance 3)", Valid: true, Epoch: 2, Address: next.URL + " " + next.URL})
		}()
		req, _ := http.NewRequest(c.method, s.URL+"/v1/jobs", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if c.want != 0 && resp.StatusCode != c.want || c.want == 0 && resp.StatusCode < 500 {
			t.Errorf("%s to a stalled leader, replaced while it waited: %d %s; want %d", c.method, resp.StatusCode, body, c.want)
		}
	}
	if n := posts.Load(); n != 0 {
		t.Errorf("the new leader was sent the POST %d times; want none: the stalled leader may have acted on it", n)
	}
}

// A stream a standby relays from a leader that stops (SIGSTOP: the
// connection stays open, nothing comes) ends once the lease names
// another leader, so that its client (carnot events -f, logs -f)
// reconnects, to the new leader, instead of waiting forever.
func TestStandbyEndsAStreamOfALeaderReplaced(t *testing.T) {
	ca, cert := forwardCA(t)
	stopped := make(chan struct{})
	old := tlsServer(t, cert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": watching\n\n")
		w.(http.Flusher).Flush()
		<-stopped // then nothing more, the connection open
	}))
	t.Cleanup(func() { close(stopped) })
	s, r := testStandbyReplica(t, ca, strings.TrimPrefix(old.URL, "https://"), defaultForwardLimits)
	resp, err := http.Get(s.URL + "/v1/watch")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); resp.StatusCode != http.StatusOK || !strings.Contains(string(buf[:n]), "watching") {
		t.Fatalf("the stream's start: %d %q %v", resp.StatusCode, buf[:n], err)
	}
	r.noteLease(store.Lease{Holder: "cp-3 (instance 3)", Valid: true, Epoch: 2, Address: "https://127.0.0.1:1 https://127.0.0.1:1"})
	ended := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		ended <- err
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream of the replaced leader still open 5 s after the lease named another")
	}
}

// Replicas given the operator's certificates (--tls-cert, of a CA of
// the operator's, the CA in the file's chain or the system's) forward to
// the leader: a standby checked the leader's certificate against the
// built-in CA alone, so that every request through a standby failed.
func TestStandbyTrustsTheLeadersCertificateOfTheOperator(t *testing.T) {
	builtin, _, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	operator, _, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	leaderCert, err := operator.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := operator.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mine.Certificate = append(mine.Certificate, operator.Certificate().Raw) // the chain, to the operator's CA
	leader := tlsServer(t, leaderCert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the leader's answer")
	}))
	r := standbyReplica(leaderRoots(builtin, mine, x509.NewCertPool()), leader.URL, defaultForwardLimits)
	s := httptest.NewServer(r.handler(true))
	t.Cleanup(s.Close)
	resp, err := http.Get(s.URL + "/v1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("through a standby to a leader with the operator's certificate: %d %s; want the leader's answer", resp.StatusCode, body)
	}
}

// A request whose credential is a client certificate (a node's, on any
// route) is answered by a standby as a node agent's route is, 503 with
// api.StandbyHeader: the standby cannot forward the certificate, and
// the leader answered the request, forwarded without it, 401 "no
// credentials" although the caller sent one.
func TestStandbyDoesNotForwardACertificatesRequestWithoutIt(t *testing.T) {
	ca, _, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
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
	dir := t.TempDir()
	if err := pki.SaveNode(dir, key, certPEM); err != nil {
		t.Fatal(err)
	}
	nodeCert, err := pki.LoadNode(dir)
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leader := tlsServer(t, serverCert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"status":401,"detail":"no credentials"}`)
			return
		}
		io.WriteString(w, `{"role":"node"}`)
	}))
	r := standbyReplica(ca.Pool(), leader.URL, defaultForwardLimits)
	s := httptest.NewUnstartedServer(r.handler(true))
	if s.TLS, err = pki.ServerConfig(serverCert, ca.Pool(), pki.VerifyClientCertIfGiven); err != nil {
		t.Fatal(err)
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.ClientConfig(ca.Pool(), &nodeCert)}}
	resp, err := hc.Get(s.URL + "/v1/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(api.StandbyHeader) != leader.URL || !strings.Contains(string(body), "certificate") {
		t.Errorf("a node's certificate's request to a standby: %d %s %q; want 503 with %s, saying it cannot forward the certificate",
			resp.StatusCode, body, resp.Header.Get(api.StandbyHeader), api.StandbyHeader)
	}
}

// A standby answers HEAD /healthz and HEAD /readyz itself, as GET: a
// load balancer's check that uses HEAD got the leader's 401 (the
// leader's need a token), and took the standby for dead.
func TestStandbyAnswersHeadOfHealthItself(t *testing.T) {
	ca, cert := forwardCA(t)
	leader := tlsServer(t, cert, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // no token
	}))
	s := testStandby(t, ca, strings.TrimPrefix(leader.URL, "https://"), defaultForwardLimits)
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := http.Head(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HEAD %s of a standby: %d; want %d, as GET", path, resp.StatusCode, want)
		}
	}
}

// A standby does not take a leader's certificate of a CA the system
// trusts, a public one, for the leader's: anyone who can write the lease
// could name a host of theirs with such a certificate, and be sent the
// tokens of every request the standbys forward. The https:// check on
// the lease's address is for that same threat.
func TestStandbyTrustsNoPublicCAForTheLeader(t *testing.T) {
	builtin, _, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	public, _, err := pki.LoadOrCreateCA(t.TempDir()) // a CA the system trusts
	if err != nil {
		t.Fatal(err)
	}
	system := x509.NewCertPool()
	system.AddCert(public.Certificate())
	theirs, err := public.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	other := tlsServer(t, theirs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
	}))
	// This replica's own certificate is of that CA too, with it in its chain.
	mine, err := public.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mine.Certificate = append(mine.Certificate, public.Certificate().Raw)
	for _, c := range []struct {
		name string
		mine tls.Certificate
	}{{"the built-in certificate", tls.Certificate{}}, {"a --tls-cert of that CA", mine}} {
		r := standbyReplica(leaderRoots(builtin, c.mine, system), other.URL, defaultForwardLimits)
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/jobs", nil)
		req.Header.Set("Authorization", "Bearer carnot_secret")
		r.handler(true).ServeHTTP(w, req)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s: a lease naming a host with a certificate of a CA the system trusts: %d %s; want 503, not forwarded", c.name, w.Code, w.Body)
		}
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("the host of the lease was sent %d requests; want none", n)
	}
	// A replica with such a certificate says at its start that the
	// standbys will not forward to it; one of the built-in CA does not.
	if msg := checkLeaderRoots(mine, leaderRoots(builtin, mine, system)); !strings.Contains(msg, "--tls-cert") {
		t.Errorf("the start's check of a --tls-cert of a CA the system trusts: %q; want a warning naming --tls-cert", msg)
	}
	own, err := builtin.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkLeaderRoots(own, leaderRoots(builtin, own, system)); msg != "" {
		t.Errorf("the start's check of a certificate of the built-in CA: %q; want none", msg)
	}
}
