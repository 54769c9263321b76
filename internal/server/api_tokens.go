package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// EventToken is the type of the events that record a token's creation
// and revocation (never its secret).
const EventToken = api.EventToken

// defaultJoinTTL is a join token's life when the request gives none.
const defaultJoinTTL = 24 * time.Hour

// maxTTLSeconds is the longest life a token may ask for: the longest
// time.Duration (292 years).
const maxTTLSeconds = int64(math.MaxInt64 / time.Second)

// MintToken creates a token as by asks (by is the actor recorded in the
// audit log) and returns it with its secret, which is not kept.
func (s *Server) MintToken(ctx context.Context, req api.TokenRequest, by string) (api.Token, error) {
	return s.mintToken(ctx, req, by, nil)
}

// mintToken is MintToken for a token that holds through parent, when
// not nil (see delegate).
func (s *Server) mintToken(ctx context.Context, req api.TokenRequest, by string, parent *auth.Token) (api.Token, error) {
	role := auth.Role(req.Role)
	if !auth.ValidName(req.Name) {
		return api.Token{}, &auth.FieldError{Field: "name", Msg: fmt.Sprintf("name %q: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", yamlin.Truncate(req.Name, 70))}
	}
	if err := auth.CheckGrant(role, req.Tenant, req.Site); err != nil {
		return api.Token{}, err
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > maxTTLSeconds {
		// Above the maximum, the duration would overflow: a token asked
		// to expire would never, or at once.
		return api.Token{}, &auth.FieldError{Field: "ttl_seconds", Msg: fmt.Sprintf("must be from 0 (no expiry) to %d seconds, not %d", maxTTLSeconds, req.TTLSeconds)}
	}
	s.mu.Lock()
	fac := s.fac
	s.mu.Unlock()
	if req.Tenant != "" && !slices.ContainsFunc(fac.Tenants, func(t model.Tenant) bool { return t.Name == req.Tenant }) {
		return api.Token{}, &auth.FieldError{Field: "tenant", Msg: fmt.Sprintf("tenant %q: not a tenant of the facility", req.Tenant)}
	}
	if req.Site != "" && !slices.ContainsFunc(fac.Sites, func(st model.Site) bool { return st.ID == req.Site }) {
		return api.Token{}, &auth.FieldError{Field: "site", Msg: fmt.Sprintf("site %q: not a site of the facility", req.Site)}
	}
	now := s.cfg.Now().UTC()
	text, id, _ := s.hasher.Mint()
	tok := auth.Token{ID: id, Name: req.Name, Role: role, Tenant: req.Tenant, Site: req.Site,
		Created: now, CreatedBy: by, Key: s.keyID}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if ttl == 0 && role == auth.Join {
		ttl = defaultJoinTTL
	}
	if ttl > 0 {
		tok.Expires = now.Add(ttl)
	}
	clamped := delegate(&tok, parent)
	var err error
	if tok.Hash, err = s.hasher.Sum(text, &tok); err != nil {
		return api.Token{}, err
	}
	doc, err := json.Marshal(tok)
	if err != nil {
		return api.Token{}, err
	}
	ev := api.Event{Time: now, Tenant: tok.Tenant, Type: EventToken, Actor: by,
		Message: fmt.Sprintf("created token %s (id %s, role %s%s%s)", tok.Name, tok.ID, tok.Role, scopeText(tok), clamped)}
	if err := s.putRecords(ctx, []store.Record{{Kind: recToken, Key: id, Doc: doc}}, []api.Event{ev}); err != nil {
		return api.Token{}, fmt.Errorf("saving the token: %w", err)
	}
	out := tokenDoc(&tok)
	out.Secret = text
	return out, nil
}

func scopeText(t auth.Token) string {
	switch {
	case t.Tenant != "":
		return ", tenant " + t.Tenant
	case t.Site != "":
		return ", site " + t.Site
	}
	return ""
}

func tokenDoc(t *auth.Token) api.Token {
	d := api.Token{ID: t.ID, Name: t.Name, Role: string(t.Role), Tenant: t.Tenant, Site: t.Site,
		Created: t.Created, CreatedBy: t.CreatedBy}
	if !t.Expires.IsZero() {
		e := t.Expires
		d.Expires = &e
	}
	if !t.Revoked.IsZero() {
		r := t.Revoked
		d.Revoked = &r
	}
	return d
}

// HasOperatorAdmin reports whether some operator-admin token made under
// the server's token key (or one of its previous keys) holds now: a
// server without one prints a bootstrap token at its start. One made
// under another key counts for nothing, since it no longer authenticates.
func (s *Server) HasOperatorAdmin(ctx context.Context) (bool, error) {
	toks, err := s.allTokens(ctx)
	if err != nil {
		return false, err
	}
	now := s.cfg.Now()
	for _, t := range toks {
		if t.Role == auth.OperatorAdmin && t.Valid(now) == nil && s.underKey(t) {
			return true, nil
		}
	}
	return false, nil
}

// Authenticates reports whether text is a token that holds now, and the
// principal it stands for.
func (s *Server) Authenticates(ctx context.Context, text string) (auth.Principal, bool) {
	r, _ := http.NewRequestWithContext(ctx, "GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+text)
	p, err := s.authenticate(r)
	return p, err == nil
}

// allTokens reads every token record. One that is not readable is
// logged and left out: it authenticates nothing (authenticate fails on
// it too), and must not keep a start, a listing or a revocation from
// seeing the others.
func (s *Server) allTokens(ctx context.Context) ([]*auth.Token, error) {
	recs, err := s.store.Records(ctx, recToken)
	if err != nil {
		return nil, err
	}
	out := make([]*auth.Token, 0, len(recs))
	for _, rec := range recs {
		t := new(auth.Token)
		if err := json.Unmarshal(rec.Doc, t); err != nil {
			s.log.Error("a stored token is not readable: it authenticates nothing", "token", rec.Key, "err", err)
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	var req api.TokenRequest
	if !decodeStrict(w, body, &req) {
		return
	}
	p := principalOf(r)
	if req.Tenant == "" && req.Site == "" && p.Tenant != "" && auth.Role(req.Role).MayHaveTenant() {
		// As for a job: a tenant's caller's own tenant is the default.
		req.Tenant = p.Tenant
	}
	if err := auth.CanGrant(p, auth.Role(req.Role), req.Tenant); err != nil {
		problemf(w, http.StatusForbidden, "%v", err)
		return
	}
	parent, err := s.parentOf(r.Context(), p)
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	if parent != nil {
		// The new token holds through parent and all parent holds through.
		switch n, err := s.chainDepth(r.Context(), parent); {
		case err != nil:
			problemf(w, http.StatusServiceUnavailable, "%v", err)
			return
		case n+1 > maxChain:
			problemf(w, http.StatusBadRequest, "%v", errChainTooDeep)
			return
		}
	}
	tok, err := s.mintToken(r.Context(), req, p.Subject, parent)
	var bad *auth.FieldError
	switch {
	case errors.As(err, &bad):
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the token request is not valid",
			Errors: []api.FieldError{{Field: bad.Field, Message: bad.Msg}}})
		return
	case err != nil: // the store, or the token key: to retry
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, tok)
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := s.allTokens(r.Context())
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading tokens: %v", err)
		return
	}
	p := principalOf(r)
	out := api.TokenList{Tokens: []api.Token{}}
	for _, t := range toks {
		if p.Role == auth.OperatorAdmin || (t.Tenant != "" && t.Tenant == p.Tenant) {
			d := tokenDoc(t)
			h := s.hasherOf(t)
			d.OtherKey, d.PreviousKey = h == nil, h != nil && h != s.hasher
			out.Tokens = append(out.Tokens, d)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if tid, _, err := auth.Parse(id); err == nil {
		// A whole token, secret included: revoke its ID, and repeat the
		// secret in no answer.
		id = tid
	}
	p := principalOf(r)
	doc, err := s.store.Record(r.Context(), recToken, id)
	if errors.Is(err, store.ErrNotFound) {
		problemf(w, http.StatusNotFound, "no token %q", id)
		return
	}
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading token: %v", err)
		return
	}
	var t auth.Token
	if err := json.Unmarshal(doc, &t); err != nil {
		problemf(w, http.StatusInternalServerError, "token %s: %v", id, err)
		return
	}
	if p.Role != auth.OperatorAdmin && (t.Tenant == "" || t.Tenant != p.Tenant) {
		problemf(w, http.StatusNotFound, "no token %q", id)
		return
	}
	now := s.cfg.Now().UTC()
	var recs []store.Record
	var evs []api.Event
	if t.Revoked.IsZero() {
		t.Revoked = now
		doc, _ = json.Marshal(t)
		recs = append(recs, store.Record{Kind: recToken, Key: id, Doc: doc})
		evs = append(evs, api.Event{Time: now, Tenant: t.Tenant, Type: EventToken, Actor: p.Subject,
			Message: fmt.Sprintf("revoked token %s (id %s)", t.Name, t.ID)})
	}
	// Again for a token revoked before: one its holder minted meanwhile
	// (through another server, within its cache's life) goes too.
	drecs, devs := s.revokeDescendants(r.Context(), &t, now, p.Subject)
	recs, evs = append(recs, drecs...), append(evs, devs...)
	if len(recs) > 0 {
		if err := s.putRecords(r.Context(), recs, evs); err != nil {
			problemf(w, http.StatusServiceUnavailable, "saving the revocation: %v", err)
			return
		}
		for _, rec := range recs {
			s.forgetToken(rec.Key)
		}
	}
	d := tokenDoc(&t)
	h := s.hasherOf(&t)
	d.OtherKey, d.PreviousKey = h == nil, h != nil && h != s.hasher
	writeJSON(w, http.StatusOK, d)
}
