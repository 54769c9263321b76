// Package nettest gives tests a TCP relay that they cut or freeze, to put
// a network partition between two real processes: an agent and its
// server, a server and its database.
package nettest

import (
	"net"
	"sync"
	"testing"
)

// Relay passes TCP connections on to a target until it is cut (every
// connection closed, new ones refused: a partition both sides see) or
// frozen (no byte passes, connections stay open: a partition neither
// side notices but by its timeouts).
type Relay struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
	frozen chan struct{} // open while frozen; nil while relaying
}

// NewRelay listens on a free port of 127.0.0.1 and relays to target
// (host:port) until Close.
func NewRelay(target string) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, target: target}
	go r.serve()
	return r, nil
}

// Start is NewRelay for a test: it fails t when the relay cannot listen,
// and closes the relay when t ends.
func Start(t testing.TB, target string) *Relay {
	t.Helper()
	r, err := NewRelay(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// Addr is the relay's address, host:port.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

func (r *Relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.cut {
			r.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", r.target)
		if err != nil {
			r.mu.Unlock()
			c.Close()
			continue
		}
		r.conns = append(r.conns, c, up)
		r.mu.Unlock()
		go r.pass(up, c)
		go r.pass(c, up)
	}
}

// pass copies src to dst, holding what it read while the relay is
// frozen.
func (r *Relay) pass(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		r.mu.Lock()
		frozen := r.frozen
		r.mu.Unlock()
		if frozen != nil {
			<-frozen
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// Cut closes every relayed connection and refuses new ones.
func (r *Relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = true
	r.closeConns()
}

// Freeze stops passing bytes, the connections kept open, until Close.
func (r *Relay) Freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen == nil {
		r.frozen = make(chan struct{})
	}
}

// Close stops the relay and closes every connection through it.
func (r *Relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = true
	r.closeConns()
	if r.frozen != nil {
		close(r.frozen)
		r.frozen = nil
	}
}

// closeConns closes the relayed connections. Caller holds mu.
func (r *Relay) closeConns() {
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
