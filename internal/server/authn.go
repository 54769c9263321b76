package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Record kinds the server keeps in the store.
const (
	recToken  = "token"  // auth.Token by ID
	recSecret = "secret" // sealed secret by tenant/name
)

// tokenCacheTTL is how long a token read from the store is trusted
// without reading it again: a token revoked through another replica stops
// working here within it (at once through this one).
const tokenCacheTTL = 5 * time.Second

// tokens caches the store's token records.
type tokens struct {
	mu sync.Mutex
	m  map[string]cachedToken
	// gen counts forgetToken calls: a record read from the store while
	// one ran may predate the change, and is not cached.
	gen uint64
}

type cachedToken struct {
	tok  *auth.Token
	read time.Time
}

type principalKey struct{}

// principalOf is the principal the request was authenticated as.
func principalOf(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(auth.Principal)
	return p
}

// errUnauthenticated is a request without a credential that holds;
// typ, when set, is the Type of the problem that says so (a node's
// certificates revoked: api.ProblemNodeRevoked).
type errUnauthenticated struct{ why, typ string }

func (e errUnauthenticated) Error() string { return e.why }

// authenticate says who sent r: a node agent by its verified client
// certificate, anyone else by a bearer token.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	if site, node, err := pki.PeerIdentity(r.TLS); err == nil {
		if why := lapsedChain(node, r.TLS.VerifiedChains[0], s.cfg.CertNow()); why != "" {
			return auth.Principal{}, errUnauthenticated{why: why}
		}
		why, revoked, legacy := s.certs.check(node, r.TLS.VerifiedChains[0][0])
		if revoked {
			return auth.Principal{}, errUnauthenticated{why: why, typ: api.ProblemNodeRevoked}
		}
		if why != "" {
			return auth.Principal{}, errUnauthenticated{why: why}
		}
		if legacy {
			if why, err := s.keepFirst(r.Context(), node, r.TLS.VerifiedChains[0][0]); err != nil {
				return auth.Principal{}, err
			} else if why != "" {
				return auth.Principal{}, errUnauthenticated{why: why}
			}
		}
		if s.certs.successorUnused(node, r.TLS.VerifiedChains[0][0]) {
			// The renewed certificate's first use: the one it renewed
			// is refused from now.
			if why := s.retirePredecessor(r.Context(), node, r.TLS.VerifiedChains[0][0]); why != "" {
				return auth.Principal{}, errUnauthenticated{why: why}
			}
		}
		return auth.Principal{Subject: "node:" + node, Role: auth.Node, Site: site, Node: node}, nil
	}
	h, twice := oneHeader(r, "Authorization")
	if twice != "" {
		return auth.Principal{}, errUnauthenticated{why: twice + ": one credential per request"}
	}
	if h == "" {
		return auth.Principal{}, errUnauthenticated{why: "no credentials: send Authorization: Bearer TOKEN (the CLI's --token or CARNOT_TOKEN; carnot dev prints one; see docs/security.md)"}
	}
	scheme, text, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return auth.Principal{}, errUnauthenticated{why: "the Authorization header must be Bearer TOKEN"}
	}
	if auth.IsJobToken(strings.TrimSpace(text)) {
		return s.authenticateJob(r.Context(), strings.TrimSpace(text))
	}
	id, _, err := auth.Parse(strings.TrimSpace(text))
	if err != nil {
		return auth.Principal{}, errUnauthenticated{why: "the bearer token is not a Carnot token"}
	}
	tok, err := s.token(r.Context(), id)
	if err != nil {
		return auth.Principal{}, err
	}
	if tok != nil && !s.underKey(tok) {
		return auth.Principal{}, errUnauthenticated{why: "token made under a previous token key: the server's key changed since; ask an operator-admin for a new token (docs/security.md)"}
	}
	if tok == nil || !s.hasherOf(tok).Verify(strings.TrimSpace(text), tok) {
		return auth.Principal{}, errUnauthenticated{why: "unknown token"}
	}
	if err := tok.Valid(s.cfg.Now()); err != nil {
		return auth.Principal{}, errUnauthenticated{why: err.Error()}
	}
	if why := s.outOfFacility(tok); why != "" {
		return auth.Principal{}, errUnauthenticated{why: why}
	}
	if why, err := s.parentsHold(r.Context(), tok); err != nil {
		return auth.Principal{}, err
	} else if why != "" {
		return auth.Principal{}, errUnauthenticated{why: why}
	}
	// The ID too: names are free, so two tokens may share one (a tenant-admin
	// naming a token as an operator's is), and the actor must tell them apart.
	return auth.Principal{Subject: "token:" + tok.Name + "/" + tok.ID, Role: tok.Role, Tenant: tok.Tenant, Site: tok.Site, TokenID: tok.ID}, nil
}

// lapsedChain says why node's verified certificate chain no longer
// holds at now, "" when it does. crypto/tls checks it at the handshake
// only, and an agent keeps its connections open for as long as it runs:
// without this a certificate that expired (or whose CA did) would still
// authenticate, on a connection made while it was valid, for as long as
// the agent keeps that connection.
func lapsedChain(node string, chain []*x509.Certificate, now time.Time) string {
	for i, c := range chain {
		what := fmt.Sprintf("node %s's certificate", node)
		if i > 0 {
			what = fmt.Sprintf("the CA certificate %q of node %s's certificate", c.Subject.CommonName, node)
		}
		switch {
		case now.After(c.NotAfter):
			return fmt.Sprintf("%s expired at %s: reconnect with the renewed certificate (the agent renews it before it expires and its new connections present the new one; "+
				"an expired one cannot renew: an operator-admin allows a new enrollment with 'carnot reenroll-node %s', then the agent starts with a join token of its site)",
				what, c.NotAfter.UTC().Format(time.RFC3339), node)
		case now.Before(c.NotBefore):
			return fmt.Sprintf("%s is not valid before %s: check the clocks of the node and of the server", what, c.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// outOfFacility says why a token bound to a tenant or a site the
// facility no longer has (removed from its file since the token was
// made) holds no more; "" when it is in. Such a token would otherwise
// act for a tenant the facility does not know (its secrets, its jobs).
// It reads the configured facility, whose tenants and sites the server
// never changes (nodes joining replace s.fac, not them), so that every
// request is not made to wait for mu, which a commit holds.
func (s *Server) outOfFacility(tok *auth.Token) string {
	fac := s.cfg.Facility
	switch {
	case tok.Tenant != "" && fac.Tenant(tok.Tenant) == nil:
		return fmt.Sprintf("token of tenant %s, which the facility no longer has", tok.Tenant)
	case tok.Site != "" && !slices.ContainsFunc(fac.Sites, func(st model.Site) bool { return st.ID == tok.Site }):
		return fmt.Sprintf("token of site %s, which the facility no longer has", tok.Site)
	}
	return ""
}

// token returns the token record id (nil when there is none), from the
// cache when it was read recently.
func (s *Server) token(ctx context.Context, id string) (*auth.Token, error) {
	now := time.Now()
	s.tokens.mu.Lock()
	c, ok := s.tokens.m[id]
	gen := s.tokens.gen
	s.tokens.mu.Unlock()
	if ok && now.Sub(c.read) < tokenCacheTTL {
		return c.tok, nil
	}
	doc, err := s.store.Record(ctx, recToken, id)
	var tok *auth.Token
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("reading token: %w", err)
	default:
		tok = new(auth.Token)
		if err := json.Unmarshal(doc, tok); err != nil {
			return nil, fmt.Errorf("token %s: %w", id, err)
		}
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	if s.tokens.gen != gen {
		// A token changed while this one was read (a revocation, through
		// this server): the record may be older than the change.
		return tok, nil
	}
	if len(s.tokens.m) > 100_000 { // unknown IDs must not grow it without end
		clear(s.tokens.m)
	}
	s.tokens.m[id] = cachedToken{tok: tok, read: now}
	return tok, nil
}

// stillHolds reports whether the credential r was authenticated with
// still authenticates the same principal. A stream (watch, a followed
// log) checks it before it sends more, so that a token revoked or
// expired while the stream is open stops it as it stops new requests.
func (s *Server) stillHolds(r *http.Request) bool {
	p, err := s.authenticate(r)
	return err == nil && p == principalOf(r)
}

// forgetToken drops a changed token from the cache.
func (s *Server) forgetToken(id string) {
	s.tokens.mu.Lock()
	delete(s.tokens.m, id)
	s.tokens.gen++
	s.tokens.mu.Unlock()
}

// guard authenticates every request to op and checks that the
// principal's role may perform it at all; handlers check the tenant of
// what they touch with s.allow.
func (s *Server) guard(op string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		var unauth errUnauthenticated
		switch {
		case errors.As(err, &unauth):
			unauthorized(w, r, unauth)
			return
		case err != nil:
			problemf(w, http.StatusServiceUnavailable, "authentication: %v", err)
			return
		}
		if err := auth.Authorize(p, op, ""); err != nil {
			problemf(w, http.StatusForbidden, "%v", err)
			return
		}
		if r.Method != http.MethodGet {
			// A change made while the server retires could land in the
			// store after its successor loaded it: none is accepted.
			s.gate.RLock()
			defer s.gate.RUnlock()
			if s.retired {
				reloading(w)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// unauthorized answers r 401, saying why its credentials do not hold.
func unauthorized(w http.ResponseWriter, r *http.Request, e errUnauthenticated) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		// The client certificate this connection was made with no
		// longer holds (expired since its handshake): the agent must
		// make a new connection, with its renewed certificate, rather
		// than keep this one.
		w.Header().Set("Connection", "close")
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="carnot"`)
	writeProblem(w, &api.Problem{Type: e.typ, Status: http.StatusUnauthorized, Detail: e.why})
}

// reloading answers a request the server may not serve because a commit
// failed: its successor, being built from the store, will.
func reloading(w http.ResponseWriter) {
	w.Header().Set(api.StandbyHeader, "reloading")
	w.Header().Set("Retry-After", "1")
	problemf(w, http.StatusServiceUnavailable, "the server is reloading its state from the store; retry")
}

// stopping answers an agent's long poll on a server that is stopping:
// its agent moves to another replica, or retries this one once it is
// back.
func stopping(w http.ResponseWriter) {
	w.Header().Set(api.StandbyHeader, "stopping")
	w.Header().Set("Retry-After", "1")
	problemf(w, http.StatusServiceUnavailable, "the server is stopping; retry")
}

// allow checks that the request's principal may perform op on a thing
// of tenant; when not, it answers (404 for a thing the principal may not
// see, as if it did not exist; 403 else) and returns false.
func allow(w http.ResponseWriter, r *http.Request, op, tenant, notFound string) bool {
	return answerAuthz(w, auth.Authorize(principalOf(r), op, tenant), notFound)
}

// answerAuthz answers a refusal err of Authorize (or AuthorizeJob), as
// allow says, and returns false; true when err is nil.
func answerAuthz(w http.ResponseWriter, err error, notFound string) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, auth.ErrNotVisible) && notFound != "":
		problemf(w, http.StatusNotFound, "%s", notFound)
	default:
		problemf(w, http.StatusForbidden, "%v", err)
	}
	return false
}

// scopeTenant is the tenant a listing of op is limited to: the
// principal's own when it has one (asking for another is refused, saying
// what was tried), else the query's.
func scopeTenant(w http.ResponseWriter, r *http.Request, op, asked string) (string, bool) {
	p := principalOf(r)
	if p.Tenant == "" || asked == p.Tenant {
		return asked, true
	}
	if asked == "" {
		return p.Tenant, true
	}
	err := auth.Authorize(p, op, asked)
	if err == nil { // cannot be: p sees its own tenant only
		err = fmt.Errorf("%w: a token of tenant %s sees tenant %s only", auth.ErrDenied, p.Tenant, p.Tenant)
	}
	problemf(w, http.StatusForbidden, "%v", err)
	return "", false
}

// knownTenant reports whether t, the tenant a facility-wide caller
// filters by ("" for none), is one the facility has or one a stored job
// is of (a tenant removed from the facility file keeps its history);
// else it answers 400 naming the tenant and the facility's tenants: a
// misspelt filter would otherwise answer an empty list, as if the tenant
// had no job. A caller of one tenant is limited to its own by
// scopeTenant, which refuses any other alike, so it learns nothing of
// the facility's tenants here.
func (s *Server) knownTenant(w http.ResponseWriter, r *http.Request, t string) bool {
	if t == "" || principalOf(r).Tenant != "" {
		return true
	}
	s.mu.Lock()
	fac := s.fac
	s.mu.Unlock()
	if fac.Tenant(t) != nil {
		return true
	}
	jobs, _, err := s.store.Jobs(r.Context(), store.JobFilter{Tenant: t, Limit: 1})
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading the jobs of tenant %q: %v", t, err)
		return false
	}
	if len(jobs) > 0 {
		return true
	}
	writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
		Errors: []api.FieldError{{Field: "tenant", Message: fmt.Sprintf("unknown tenant %q: not a tenant of the facility, and no job of it is stored (the facility has %s)",
			yamlin.Truncate(t, 40), tenantNames(fac))}}})
	return false
}

func (s *Server) handleWhoAmI(listener string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		writeJSON(w, http.StatusOK, api.WhoAmI{Subject: p.Subject, Role: string(p.Role), Tenant: p.Tenant,
			Site: p.Site, Node: p.Node, Listener: listener})
	}
}

// Retire makes the server refuse every change from now on, once the
// changes in flight are done: a server that replaces this one (New on the
// same store) then loads all of them.
func (s *Server) Retire() {
	s.gate.Lock()
	s.retired = true
	s.gate.Unlock()
}
