package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/store"
)

// handleLogs serves a replica's stdout or stderr, read from the agent of
// the node it ran on; with follow=true the stream stays open until the
// replica ends. The agent's api.LogDroppedHeader is passed on.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	replica, ok := queryInt(w, r, "replica", 0, 0, 1<<20)
	if !ok {
		return
	}
	offset, ok := queryInt(w, r, "offset", 0, 0, 1<<62)
	if !ok {
		return
	}
	stream := or(q.Get("stream"), "stdout")
	if stream != "stdout" && stream != "stderr" {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
			Errors: []api.FieldError{{Field: "stream", Message: "stdout or stderr"}}})
		return
	}
	follow, ok := queryBool(w, r, "follow")
	if !ok {
		return
	}
	d, err := s.jobDoc(r, id)
	if errors.Is(err, store.ErrNotFound) {
		problemf(w, http.StatusNotFound, "no job %q", id)
		return
	}
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", id, err)
		return
	}
	if !allow(w, r, "jobLogs", d.Tenant, fmt.Sprintf("no job %q", id)) {
		return
	}
	attempt, ok := queryInt(w, r, "attempt", int64(d.Attempt), 1, 1<<20)
	if !ok {
		return
	}
	if d.Attempt == 0 {
		switch d.State {
		case api.StateCancelled, api.StateFailed:
			// it never will: no "yet" (carnot logs -f on a queued job
			// prints this once the job is cancelled)
			verb := "failed"
			if d.State == api.StateCancelled {
				verb = "was cancelled"
			}
			problemf(w, http.StatusNotFound, "job %s %s before it started: no logs", id, verb)
		default:
			problemf(w, http.StatusNotFound, "job %s has not started yet: no logs", id)
		}
		return
	}
	k := replicaAt(d.Replicas, int(replica))
	if k < 0 && int(attempt) >= d.Attempt {
		problemf(w, http.StatusNotFound, "%s", noReplica(d, int(replica)))
		return
	}
	if k >= 0 && d.Replicas[k].State == api.ReplicaAssigned && int(attempt) == d.Attempt {
		// Placed but not started yet: wait for the process (and its log
		// file) so that `carnot logs -f` right after a submission works.
		if d, err = s.waitStarted(r, id, int(replica)); errors.Is(err, errNoLongerHolds) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carnot"`)
			problemf(w, http.StatusUnauthorized, "%v", err)
			return
		} else if err != nil {
			problemf(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		if k = replicaAt(d.Replicas, int(replica)); k < 0 {
			problemf(w, http.StatusNotFound, "%s", noReplica(d, int(replica)))
			return
		}
	}
	node := ""
	if k >= 0 {
		node = d.Replicas[k].Node
	}
	if int(attempt) > d.Attempt {
		n := fmt.Sprintf("%d attempts", d.Attempt)
		if d.Attempt == 1 {
			n = "1 attempt"
		}
		problemf(w, http.StatusNotFound, "job %s has had %s, not %d", id, n, attempt)
		return
	}
	if int(attempt) != d.Attempt {
		if node = pastNode(d, int(attempt), int(replica)); node == "" {
			problemf(w, http.StatusNotFound, "job %s: the node replica %d of attempt %d ran on is not known (the server keeps the last %d attempts); its logs, if any, are on that node",
				id, replica, attempt, api.MaxPastAttempts)
			return
		}
	}
	s.mu.Lock()
	addr, site := "", ""
	if n := s.nodes[node]; n != nil {
		addr, site = n.doc.Address, n.doc.Site
	}
	s.mu.Unlock()
	if addr == "" {
		problemf(w, http.StatusServiceUnavailable, "node %s of replica %d is not registered or serves no logs", node, replica)
		return
	}
	u := fmt.Sprintf("%s%s?%s", addr, api.AgentLogsPath, url.Values{
		"job": {id}, "replica": {strconv.FormatInt(replica, 10)}, "attempt": {strconv.FormatInt(attempt, 10)},
		"stream": {stream}, "follow": {strconv.FormatBool(follow)}, "offset": {strconv.FormatInt(offset, 10)},
	}.Encode())
	if follow {
		holder := watchHolder(principalOf(r))
		release, ok := s.follows.take(holder, s.cfg.MaxFollows)
		if !ok {
			tooManyStreams(w, "followed logs", holder, s.cfg.MaxFollows)
			return
		}
		defer release()
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if follow {
		// Output may not come for hours: a revoked or expired token's
		// stream ends without waiting for it.
		go s.whileHolds(ctx, r, cancel)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		problemf(w, http.StatusInternalServerError, "%v", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+s.logsToken(node))
	hc := plainLogClient
	if strings.HasPrefix(addr, "https://") {
		if s.cfg.CA == nil {
			problemf(w, http.StatusServiceUnavailable, "node %s serves logs over TLS and this server has no CA to check it", node)
			return
		}
		hc = s.nodeClient(site, node)
	}
	resp, err := hc.Do(req)
	if err == nil && s.peerRefused(node, resp) != "" {
		// The handshake checked the certificate (nodeClient), but on a
		// connection kept since, made before the node's certificates
		// were revoked or replaced, or before its agent renewed past
		// it: a new connection's handshake checks the one it presents
		// now.
		resp.Body.Close()
		hc.CloseIdleConnections()
		resp, err = hc.Do(req)
	}
	var refused notTheNodes
	switch {
	case errors.As(err, &refused):
		// The handshake's check (nodeClient): the same refusal as the
		// answer's below, not an agent out of reach.
		problemf(w, http.StatusServiceUnavailable, "%v", refused)
		return
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "the agent of node %s cannot be reached: %v", node, err)
		return
	}
	defer resp.Body.Close()
	if s.peerRefused(node, resp) != "" {
		// Not the reason itself: it names who revoked the node's
		// certificates, and the caller may be a tenant.
		problemf(w, http.StatusServiceUnavailable, "%v", errNotTheNodes(node))
		return
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		status := http.StatusServiceUnavailable
		if resp.StatusCode == http.StatusNotFound {
			status = http.StatusNotFound
		}
		problemf(w, status, "node %s: %s", node, bytes.TrimSpace(msg))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if n, err := strconv.ParseInt(resp.Header.Get(api.LogDroppedHeader), 10, 64); err == nil && n > 0 {
		w.Header().Set(api.LogDroppedHeader, strconv.FormatInt(n, 10)) // the node keeps the end only
	}
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if !s.stillHolds(r) {
				return // revoked or expired while following
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// peerRefused says why the certificate node's log server presented for
// resp is not one the server accepts from the node, "" when it is (or
// resp came over plain HTTP).
func (s *Server) peerRefused(node string, resp *http.Response) string {
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return ""
	}
	return s.certs.refused(node, resp.TLS.PeerCertificates[0])
}

// whileHolds calls stop once the credentials of r no longer hold,
// checking every streamCheck until ctx is done, or once the server's
// streams end (endStreams).
func (s *Server) whileHolds(ctx context.Context, r *http.Request, stop func()) {
	t := time.NewTicker(s.streamCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streamsDone:
			stop()
			return
		case <-t.C:
			if !s.stillHolds(r) {
				stop()
				return
			}
		}
	}
}

// pastNode is the node replica of an earlier attempt of d ran on; ""
// when d does not say.
func pastNode(d *api.Job, attempt, replica int) string {
	for _, p := range d.PastAttempts {
		switch {
		case p.Attempt != attempt:
		case len(p.Indices) == len(p.Nodes) && len(p.Indices) > 0:
			if k := slices.Index(p.Indices, replica); k >= 0 {
				return p.Nodes[k]
			}
		case replica < len(p.Nodes):
			return p.Nodes[replica]
		}
	}
	return ""
}

// noReplica says why job d's record has no replica of index replica:
// there is none, or a running deployment dropped it (api.MaxReplacedReplicas).
func noReplica(d *api.Job, replica int) string {
	n := 0
	if len(d.Replicas) > 0 {
		n = d.Replicas[len(d.Replicas)-1].Index + 1
	}
	if replica < n {
		return fmt.Sprintf("job %s: replica %d is no longer in its record (a running deployment keeps its last %d replaced replicas); its logs, if any, are on the node it ran on",
			d.ID, replica, api.MaxReplacedReplicas)
	}
	switch n {
	case 0:
		return fmt.Sprintf("job %s has no replica", d.ID)
	case 1:
		return fmt.Sprintf("job %s has 1 replica (0)", d.ID)
	}
	return fmt.Sprintf("job %s has %d replicas (0 to %d)", d.ID, n, n-1)
}

// errNoLongerHolds is a request's credential revoked or expired while
// the request waited.
var errNoLongerHolds = errors.New("the token was revoked or expired while the request waited")

// waitStarted waits (at most a minute) until replica of job id has left
// the assigned state, and fails with errNoLongerHolds once r's credential
// no longer holds: what the wait ends in is read after it.
func (s *Server) waitStarted(r *http.Request, id string, replica int) (*api.Job, error) {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	end := time.After(time.Minute)
	for {
		if !s.stillHolds(r) {
			return nil, errNoLongerHolds
		}
		d, err := s.jobDoc(r, id)
		if err != nil {
			return nil, err
		}
		if k := replicaAt(d.Replicas, replica); k < 0 || d.Replicas[k].State != api.ReplicaAssigned {
			return d, nil
		}
		select {
		case <-t.C:
		case <-end:
			return nil, fmt.Errorf("replica %d of job %s has not started within a minute", replica, id)
		case <-s.streamsDone:
			return nil, errors.New("the server is stopping; retry")
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}

// logsToken is the secret the server shows node's log server: derived
// from the token key, so that every replica and restart of the server
// knows it without storing it; the agent learns it when it registers
// (over its mutually authenticated connection).
//
// It is derived from the node's enrollment too (its record's
// Generation), so that a node enrolled again with a join token (a
// machine reinstalled, after a revocation) has a new one: whoever held
// the name's certificates before learned the old one at registration.
// So does a node that renewed its certificate, from its first request
// with the new one, when the one it renewed is refused
// (retirePredecessor): a copy of that one's key (a stolen key that
// registered, a restored backup) would otherwise go on reading the
// logs the node serves, which ask no certificate of the caller. Not at
// the renewal itself: its answer may be lost, and the node then goes on
// with the certificate it renewed. The answer of that first request
// (a heartbeat, which the agent sends at once after a renewal, or a
// registration) gives the agent the new token; a log fetch before its
// next heartbeat is refused by its log server. A node enrolled before
// generations were kept has the name's alone.
func (s *Server) logsToken(node string) string {
	m := hmac.New(sha256.New, s.cfg.TokenKey)
	m.Write([]byte("carnot agent logs\x00" + node))
	if gen := s.certs.generation(node); gen != "" {
		m.Write([]byte("\x00" + gen))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// nodeClient is the HTTP client for node's log server, kept per node so
// that log fetches reuse their TLS connections: the node's certificate
// must name this node in its site, so the logs token goes to that node
// only.
// noRedirect makes a client answer a redirect with the redirect itself:
// a node's log server that redirects elsewhere (another address of the
// control plane's network, say) is not followed, and the tenant gets an
// error, not what that address serves.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// plainLogClient fetches logs from agents that serve them over plain
// HTTP (development, fake fleets), without following redirects.
var plainLogClient = &http.Client{CheckRedirect: noRedirect}

func (s *Server) nodeClient(site, node string) *http.Client {
	key := site + "/" + node
	if c, ok := s.nodeClients.Load(key); ok {
		return c.(*http.Client)
	}
	cfg := pki.NodeServerConfig(s.caPool, site, node)
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verify(cs); err != nil {
			return err
		}
		// A certificate the server no longer accepts from the node (a
		// revoked or replaced one: a stolen key's) is not the node's.
		if s.certs.refused(node, cs.PeerCertificates[0]) != "" {
			return errNotTheNodes(node)
		}
		return nil
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}, CheckRedirect: noRedirect}
	actual, _ := s.nodeClients.LoadOrStore(key, c)
	return actual.(*http.Client)
}

// errNotTheNodes is the refusal of a log server presenting a certificate
// of node the server no longer accepts, in words a tenant may read: not
// who revoked it.
func errNotTheNodes(node string) error { return notTheNodes{node} }

// notTheNodes is errNotTheNodes's error, which handleLogs tells from
// other failures to reach a log server.
type notTheNodes struct{ node string }

func (e notTheNodes) Error() string {
	return fmt.Sprintf("the log server at node %s's address presented a certificate this server no longer accepts (revoked, or replaced by an enrollment)", e.node)
}
