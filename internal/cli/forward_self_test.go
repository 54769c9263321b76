package cli

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/store"
)

// A read a standby sent to a leader that stalled, when the lease then
// names this replica itself (two replicas: the standby takes over), has
// no other leader to go to. It acted on nothing, so the answer says so
// and lets the client retry (503 with api.StandbyHeader), as for a
// request not sent; it used to be the 502 of a write, "it may have been
// acted on: check before sending it again". A write sent stays 502.
func TestStandbyTakingOverAnswersAReadRetry(t *testing.T) {
	ca, _, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	// The leader reads the request, says so, and answers nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	read := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				if _, err := tls.Server(c, tc).Read(make([]byte, 1)); err == nil {
					read <- struct{}{}
				}
			}()
		}
	}()
	addr := ln.Addr().String()
	s, r := testStandbyReplica(t, ca, addr, forwardLimits{dial: time.Second, tlsHandshake: time.Second, header: 10 * time.Second})
	for _, c := range []struct {
		method  string
		status  int
		standby bool // api.StandbyHeader set
	}{{"GET", http.StatusServiceUnavailable, true}, {"POST", http.StatusBadGateway, false}} {
		r.noteLease(store.Lease{Holder: "cp-1 (instance 1)", Valid: true, Epoch: 1, Address: "https://" + addr + " https://" + addr})
		go func() { // the failover to this replica, while the request waits
			<-read
			r.noteLease(store.Lease{Holder: r.holder, Valid: true, Epoch: 2, Address: "https://127.0.0.1:1 https://127.0.0.1:1"})
		}()
		req, _ := http.NewRequest(c.method, s.URL+"/v1/jobs", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || (resp.Header.Get(api.StandbyHeader) != "") != c.standby {
			t.Errorf("%s to a stalled leader, replaced by this replica: %d (%s: %q) %s; want %d, standby header %v",
				c.method, resp.StatusCode, api.StandbyHeader, resp.Header.Get(api.StandbyHeader), body, c.status, c.standby)
		}
		if c.standby && !strings.Contains(string(body), "retry") {
			t.Errorf("%s: %s; want a detail that says to retry", c.method, body)
		}
	}
}
