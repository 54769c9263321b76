package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/store"
)

// maxChain is the most tokens a token may hold through: a token minted
// through more is refused at its creation, and does not authenticate
// (a record rewritten into a loop ends there too).
const maxChain = 64

// A tenant-admin's token delegates: the tokens it mints hold through it.
// Each names it as its parent, expires no later than it does (a later
// or no expiry asked for is clamped to the parent's), and stops holding
// once it is revoked or expires, as do the tokens those minted in turn.
// An operator-admin's token is the facility's root of trust: what it
// mints has no parent and stands on its own, so that the bootstrap token
// can be revoked once the operators made their own.

// parentOf is the token the tokens p mints hold through: p's own when p
// is a token principal other than an operator-admin; nil else.
func (s *Server) parentOf(ctx context.Context, p auth.Principal) (*auth.Token, error) {
	if p.TokenID == "" || p.Role == auth.OperatorAdmin {
		return nil, nil
	}
	tok, err := s.token(ctx, p.TokenID)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, fmt.Errorf("the creating token %s is gone from the store", p.TokenID)
	}
	return tok, nil
}

// errChainTooDeep refuses a token that would hold through more than
// maxChain tokens.
var errChainTooDeep = fmt.Errorf("a token is minted through a chain of at most %d tokens: mint it with a tenant-admin token nearer to the one an operator-admin made", maxChain)

// chainDepth is how many tokens tok holds through (at most maxChain+1:
// it stops counting there).
func (s *Server) chainDepth(ctx context.Context, tok *auth.Token) (int, error) {
	n := 0
	for id := tok.Parent; id != "" && n <= maxChain; n++ {
		p, err := s.token(ctx, id)
		if err != nil || p == nil {
			return n, err
		}
		id = p.Parent
	}
	return n, nil
}

// delegate makes tok hold through parent (nil: none), clamping its
// expiry to parent's; it returns a note for the creation's event when it
// clamped.
func delegate(tok *auth.Token, parent *auth.Token) string {
	if parent == nil {
		return ""
	}
	tok.Parent = parent.ID
	if !parent.Expires.IsZero() && (tok.Expires.IsZero() || tok.Expires.After(parent.Expires)) {
		tok.Expires = parent.Expires
		return ", expiry clamped to its creator's"
	}
	return ""
}

// parentsHold says why tok does not hold through its parents (one was
// revoked, expired, or is gone), or "" when they all hold.
func (s *Server) parentsHold(ctx context.Context, tok *auth.Token) (string, error) {
	now := s.cfg.Now()
	for i, id := 0, tok.Parent; id != ""; i++ {
		if i == maxChain {
			return fmt.Sprintf("token minted through a chain of more than %d tokens", maxChain), nil
		}
		p, err := s.token(ctx, id)
		if err != nil {
			return "", err
		}
		if p == nil {
			return fmt.Sprintf("the token that minted this one (id %s) is gone", id), nil
		}
		if err := p.Valid(now); err != nil {
			return fmt.Sprintf("the token minted through token %s (id %s), which no longer holds: %v", p.Name, p.ID, err), nil
		}
		if !s.underKey(p) {
			return fmt.Sprintf("the token minted through token %s (id %s), made under a token key this server no longer has", p.Name, p.ID), nil
		}
		id = p.Parent
	}
	return "", nil
}

// revokeDescendants returns the records and events that revoke, at now,
// every token not yet revoked that holds through root. It never keeps
// root's own revocation from being saved: a token it cannot read or
// list is logged and left, and refused all the same while root is
// revoked (parentsHold).
func (s *Server) revokeDescendants(ctx context.Context, root *auth.Token, now time.Time, by string) ([]store.Record, []api.Event) {
	all, err := s.allTokens(ctx)
	if err != nil {
		s.log.Warn("revoking a token: the tokens minted through it are not marked revoked, only refused", "token", root.ID, "err", err)
		return nil, nil
	}
	children := map[string][]*auth.Token{}
	for _, t := range all {
		if t.Parent != "" {
			children[t.Parent] = append(children[t.Parent], t)
		}
	}
	var recs []store.Record
	var evs []api.Event
	seen := map[string]bool{root.ID: true}
	for queue := []*auth.Token{root}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0].ID] {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			queue = append(queue, c)
			if !c.Revoked.IsZero() {
				continue
			}
			c.Revoked = now
			doc, _ := json.Marshal(c)
			recs = append(recs, store.Record{Kind: recToken, Key: c.ID, Doc: doc})
			evs = append(evs, api.Event{Time: now, Tenant: c.Tenant, Type: EventToken, Actor: by,
				Message: fmt.Sprintf("revoked token %s (id %s): minted through token %s (id %s), revoked", c.Name, c.ID, root.Name, root.ID)})
		}
	}
	return recs, evs
}
