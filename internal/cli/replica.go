package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// replica is one `carnot server` of several on one PostgreSQL database.
// Exactly one, the holder of the lease, runs the scheduler loop; every
// replica serves the API: a standby forwards each request to the leader's
// same listener (the leader authenticates it), but for /healthz and
// /readyz, which it answers for itself (alive; not ready: it does not
// lead), and /metrics, its own (replica_metrics.go), and answers the node
// agents' routes, and any request sent with a client certificate, 503
// with api.StandbyHeader so that agents, which hold a client certificate
// the standby cannot forward, move to the next address. Every write of
// the leader carries its epoch as a fencing token: a leader that lost
// the lease cannot commit; it stops (exits with an error) and its
// process manager starts it again as a standby.
//
// The lease holder is this process, not its --replica-name: holder is the
// name and a random instance ID drawn at start, so that two processes with
// one name (a hung process and its restart, a unit copied to two
// machines) are two holders. The second waits for the lease as any
// standby, or takes an expired one at a new epoch, which fences the
// first's writes. Were the name the holder, the second's campaign would
// renew the first's lease: both would lead, at one epoch, which fencing
// cannot tell apart.
type replica struct {
	holder string // this process in the lease: holderOf(--replica-name, instance)
	ttl    time.Duration
	db     *postgres.DB
	cp     *controlPlane
	roots  *x509.CertPool

	mu    sync.Mutex
	lease store.Lease
	read  time.Time
	// changed is closed when the lease names another leader (or none):
	// leaderChanged.
	changed chan struct{}
	// readErr is why the last campaign could not read the lease; nil
	// after one that did.
	readErr error
	proxy   *httputil.ReverseProxy // to the leader: forward.go
	// metrics serves a standby's /metrics: its process's and its role
	// (replica_metrics.go).
	metrics http.Handler
}

func newReplica(o *serverOpts, db *postgres.DB, cp *controlPlane, roots *x509.CertPool) (*replica, error) {
	name := o.replicaName
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	r := &replica{holder: holderOf(name, newInstance()), ttl: o.leaseTTL, db: db, cp: cp, roots: roots}
	r.forwardVia(roots, defaultForwardLimits)
	r.warnUnreachable()
	if err := r.exportMetrics(); err != nil {
		return nil, err
	}
	r.standby()
	return r, nil
}

// holderOf is the lease holder of replica name in the process whose
// instance ID is instance, as the lease records it and logs show it:
// "cp-1 (instance 3f9c2a7be0d14f55)". An older version records the bare
// name, which is never a holder of this one.
func holderOf(name, instance string) string { return name + " (instance " + instance + ")" }

// newInstance draws a process's instance ID: 64 random bits, in hex.
func newInstance() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// address is what the lease records of this replica: its tenant and
// operator API, as the other replicas are to reach them (reachable).
func (r *replica) address() string { return reachable(r.cp.url) + " " + reachable(r.cp.adminURL) }

// reachable is the address of a listener at raw that another machine
// may reach: a listener on every interface (0.0.0.0, ::) by this
// machine's host name, which the built-in certificate names; any other
// as it is.
func reachable(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	ip := net.ParseIP(u.Hostname())
	host, herr := os.Hostname()
	if ip == nil || !ip.IsUnspecified() || herr != nil || host == "" {
		return raw
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String()
}

// warnUnreachable logs, for each listener that a standby on another
// machine cannot forward to at the address the lease gives, what it
// reaches instead.
func (r *replica) warnUnreachable() {
	for _, l := range []struct{ flag, url string }{{"--listen", r.cp.url}, {"--admin-listen", r.cp.adminURL}} {
		u, err := url.Parse(l.url)
		if err != nil {
			continue
		}
		ip := net.ParseIP(u.Hostname())
		switch {
		case ip != nil && ip.IsLoopback():
			r.cp.log.Warn("this replica listens on a loopback address: a standby on another machine forwards to its own, not to this replica, and answers 503; listen on an address the other replicas reach",
				"flag", l.flag, "address", u.Host)
		case ip != nil && ip.IsUnspecified():
			r.cp.log.Info("this replica listens on every interface: the lease gives the other replicas its host name; they must resolve it, and --tls-cert, if given, name it",
				"flag", l.flag, "lease_address", reachable(l.url))
		}
	}
}

// leaderURL is the leader's tenant or operator API, nil when there is no
// valid lease of another replica or its address is not https://.
func (r *replica) leaderURL(operator bool) *url.URL {
	r.mu.Lock()
	l := r.lease
	r.mu.Unlock()
	if !l.Valid || l.Holder == r.holder {
		return nil
	}
	t, a, _ := strings.Cut(l.Address, " ")
	raw := t
	if operator {
		raw = a
	}
	// https only: a standby forwards the callers' Authorization headers,
	// which must not cross the network in clear text to an address
	// written in the database as http://.
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil
	}
	return u
}

// handler is the standby's handler of one listener.
func (r *replica) handler(operator bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u := r.leaderURL(operator)
		starting := u == nil && r.holdsLease()
		get := req.Method == http.MethodGet || req.Method == http.MethodHead // as the leader's routes
		switch {
		case operator && req.URL.Path == "/metrics" && r.metrics != nil:
			r.metrics.ServeHTTP(w, req)
		case req.URL.Path == "/healthz" && get:
			r.health(w, u, starting, operator)
		case req.URL.Path == "/readyz" && get && u != nil:
			standby(w, u.String(), "this replica is a standby: it does not lead, and forwards the API to the leader at "+u.String())
		case starting:
			standby(w, "", "this replica leads and is loading the state from the database; retry")
		case u == nil:
			standby(w, "", r.noLeader())
		case strings.HasPrefix(req.URL.Path, "/v1/agent/"):
			standby(w, u.String(), "this replica is a standby; node agents talk to the leader at "+u.String())
		case req.TLS != nil && len(req.TLS.VerifiedChains) > 0:
			// The leader authenticates a request by its client
			// certificate first, which a standby cannot forward.
			standby(w, u.String(), "this replica is a standby and cannot forward the client certificate this request was sent with; send it to the leader at "+u.String())
		case req.Header.Get(api.ForwardedHeader) != "":
			flag := "--listen"
			if operator {
				flag = "--admin-listen"
			}
			standby(w, u.String(), fmt.Sprintf("this replica is a standby, given a request that the standby %s forwarded to the leader's address in the lease, %s: that address leads to a standby, not the leader (which may have just stepped down). "+
				"A replica whose %s is a loopback address (127.0.0.1) cannot be reached there from another machine: give each replica an address the others reach", req.Header.Get(api.ForwardedHeader), u, flag))
		default:
			r.forward(w, req, u, operator)
		}
	})
}

// health is a standby's own /healthz: 200 while it serves, whatever the
// leader's state, so that a liveness probe never restarts the standbys
// just as one should take over. It says it is a standby and the leader's
// address on this listener ("" while none is known), or, for a replica
// that holds the lease but whose server is not serving yet (starting: it
// loads the state), that it is starting, with its own address. It reads
// no credentials: it says nothing that the standby's answer to a node
// agent's route does not.
func (r *replica) health(w http.ResponseWriter, leader *url.URL, starting, operator bool) {
	body := map[string]string{"status": "standby", "leader": ""}
	switch {
	case leader != nil:
		body["leader"] = leader.String()
	case starting:
		body["status"] = "starting"
		body["leader"] = r.ownURL(operator)
		body["detail"] = "this replica leads and is loading the state from the database"
	default:
		body["detail"] = r.noLeader()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(body)
}

// noteLease records l, the lease as the database has it now.
// Another leader (or none) than the last closes the channel of
// leaderChanged.
func (r *replica) noteLease(l store.Lease) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l.Holder != r.lease.Holder || l.Address != r.lease.Address || l.Valid != r.lease.Valid {
		r.changedLocked()
	}
	r.lease, r.read, r.readErr = l, time.Now(), nil
}

// leaderChanged is closed when the lease names another leader, or none.
func (r *replica) leaderChanged() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// changedLocked closes the channel of leaderChanged; caller holds mu.
func (r *replica) changedLocked() {
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// noLeader says why this replica knows no leader.
func (r *replica) noLeader() string {
	r.mu.Lock()
	err := r.readErr
	r.mu.Unlock()
	if err != nil {
		// Not the error, which names the database's host and user: this
		// is said to anyone (/healthz reads no credentials).
		return "no leader known: this replica cannot read the leader lease from the database (its log says why)"
	}
	return "no leader yet: a replica takes the lease within " + r.ttl.String()
}

// holdsLease reports whether this replica holds a valid lease.
func (r *replica) holdsLease() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease.Valid && r.lease.Holder == r.holder
}

// ownURL is this replica's tenant or operator API, as its lease records
// it.
func (r *replica) ownURL(operator bool) string {
	r.mu.Lock()
	t, a, _ := strings.Cut(r.lease.Address, " ")
	r.mu.Unlock()
	if operator {
		return a
	}
	return t
}

// standby answers 503 with api.StandbyHeader: the client tries the next
// address.
func standby(w http.ResponseWriter, leader, msg string) {
	w.Header().Set(api.StandbyHeader, or(leader, "unknown"))
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `{"type":"urn:carnot:problem:unavailable","title":"service unavailable","status":503,"detail":%q}`, msg)
}

// lead builds the server on st (reloading the state from the database)
// under the lease l, runs onLeader and then the loop, until ctx is done.
func (r *replica) lead(ctx context.Context, st store.Store, l store.Lease, onLeader func(context.Context) error) error {
	lease := &server.Leadership{Holder: l.Holder, Address: l.Address, Epoch: l.Epoch}
	if err := r.cp.lead(ctx, st, lease); err != nil {
		return err
	}
	if err := onLeader(ctx); err != nil {
		return err
	}
	return r.cp.runRecovering(ctx, st, lease)
}

// errLostLease stops a replica that was the leader and lost the lease.
var errLostLease = errors.New("this replica lost the leadership")

// run campaigns every third of the lease until ctx is done; once it wins
// it builds the server (reloading the state from the database) under the
// lease's epoch, runs onLeader and the loop (lead), and keeps renewing,
// from the start: the server may take longer than the lease to build.
//
// Leading stops with errLostLease when another replica holds the lease,
// when a renewal comes after the lease expired (the lease is taken again
// at a new epoch, under which the running server cannot write), and when
// no renewal succeeded for a lease: each renewal is bounded by the time
// left, and a lease counts from when its renewal was sent, so that the
// leader stops no later than the database lets a standby take over, even
// cut off from the database. Its listeners answer as a standby's at once,
// before the loop is stopped.
func (r *replica) run(ctx context.Context, onLeader func(context.Context) error) error {
	r.cp.log.Info("this replica campaigns for the leader lease", "replica", r.holder, "lease", r.ttl)
	tick := time.NewTicker(r.ttl / 3)
	defer tick.Stop()
	expiry := time.NewTimer(r.ttl) // the leader's lease, as far as it knows
	defer expiry.Stop()
	var (
		loopDone  chan error // non-nil once this replica leads
		lastRenew time.Time  // when the last renewal that kept the lease was sent
		epoch     int64      // the fencing token of the server this replica runs
	)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	// lose stops leading: no request is answered as the leader's from
	// now on, then the server's loop stops.
	lose := func(resign bool, why error) error {
		r.cp.log.Warn("this replica stops leading", "replica", r.holder, "epoch", epoch, "err", why)
		// Its lease as last read may still be its own, valid (it could
		// not renew it): it no longer holds it, and does not say it
		// leads while its server stops.
		r.mu.Lock()
		if r.lease.Holder == r.holder && r.lease.Valid {
			r.lease.Valid = false
			r.changedLocked()
		}
		r.mu.Unlock()
		r.standby()
		stop()
		<-loopDone
		r.standby() // the server may have been built meanwhile
		if resign {
			r.resign()
		}
		return fmt.Errorf("%w: %v", errLostLease, why)
	}
	for {
		sent := time.Now()
		wait := r.ttl
		if loopDone != nil {
			wait = lastRenew.Add(r.ttl).Sub(sent)
		}
		cctx, cancel := context.WithTimeout(ctx, wait)
		l, err := r.db.Campaign(cctx, r.holder, r.address(), r.ttl)
		cancel()
		now := time.Now()
		if err == nil {
			r.noteLease(l)
		} else {
			r.mu.Lock()
			r.readErr = err
			r.mu.Unlock()
		}
		leading := loopDone != nil
		switch {
		case err == nil && l.Holder == r.holder && !leading:
			r.cp.log.Info("this replica leads", "replica", r.holder, "epoch", l.Epoch)
			// The server reloads the whole state, which may take longer
			// than the lease: this loop goes on renewing meanwhile.
			loopDone = make(chan error, 1)
			st := store.Fenced(r.db, l.Epoch)
			go func() { loopDone <- r.lead(lctx, st, l, onLeader) }()
			lastRenew, epoch = sent, l.Epoch
		case leading && err == nil && l.Holder == r.holder && l.Epoch != epoch:
			// The renewal came after the lease had expired: it took the
			// lease afresh, at a new epoch that fences every write of the
			// server running under the old one. Give the lease up and stop,
			// as when another replica takes it.
			return lose(true, fmt.Errorf("its lease expired before it was renewed (epoch %d, now %d)", epoch, l.Epoch))
		case err == nil && l.Holder == r.holder:
			lastRenew = sent
		case leading && err == nil:
			return lose(false, fmt.Errorf("%s holds it now (epoch %d)", l.Holder, l.Epoch))
		case leading && !now.Before(lastRenew.Add(r.ttl)):
			return lose(false, fmt.Errorf("cannot renew the lease: %v", err))
		case err != nil:
			r.cp.log.Warn("this replica cannot read the leader lease", "replica", r.holder, "err", err)
		}
		var expired <-chan time.Time
		if loopDone != nil {
			expiry.Reset(time.Until(lastRenew.Add(r.ttl)))
			expired = expiry.C
		}
		select {
		case <-ctx.Done():
			if loopDone != nil {
				err := <-loopDone
				r.resign()
				return err
			}
			return nil
		case err := <-loopDone:
			r.resign()
			return err
		case <-expired:
			return lose(false, fmt.Errorf("no renewal succeeded within the lease (%s)", r.ttl))
		case <-tick.C:
		}
	}
}

// standby makes the listeners answer as a standby's: forwarded to the
// leader, the node agents' routes 503.
func (r *replica) standby() {
	r.cp.leading.Store(false)
	th, ah := r.handler(false), r.handler(true)
	r.cp.tenantH.Store(&th)
	r.cp.adminH.Store(&ah)
}

// resign gives the lease up, if this replica holds it, so that another
// takes over at once; it waits one lease at most (the database may be
// out of reach).
func (r *replica) resign() {
	ctx, cancel := context.WithTimeout(context.Background(), r.ttl)
	defer cancel()
	r.db.Resign(ctx, r.holder)
}
