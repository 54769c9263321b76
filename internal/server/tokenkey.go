package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/store"
)

// recTokenKey is the record, under key "current", of the token key the
// server last ran with: a start with another key finds out.
const recTokenKey = "token-key"

// tokenKeyDoc is the recTokenKey record. It holds key IDs
// (auth.Hasher.KeyID), never keys.
type tokenKeyDoc struct {
	ID string `json:"id"`
	// Legacy is the key ID that tokens recording none (made before
	// tokens recorded their key) were made under: the ID recorded first,
	// the key of the first start that kept this record.
	Legacy string    `json:"legacy"`
	Since  time.Time `json:"since"`
	// Previous are the IDs of the previous keys (Config.PreviousTokenKeys)
	// of the last start: one dropped since ends its tokens, which is
	// audited.
	Previous []string `json:"previous,omitempty"`
}

// tokenKeyState is what a server knows of its token key.
type tokenKeyState struct {
	keyID string // s.hasher.KeyID()
	// previous are the hashers of Config.PreviousTokenKeys by key ID:
	// the tokens made under them still authenticate (a rotation).
	previous map[string]*auth.Hasher
	// keyLegacy stands for the key of tokens that name none.
	keyLegacy string
	// keyChangedFrom is the ID of the key the server ran with before
	// this start, when it was another; "" else.
	keyChangedFrom string
}

// TokenKeyChangedFrom is the ID of the token key the server last ran
// with when this start's is another ("" when not): every token made
// under it stops authenticating, and a bootstrap token is due.
func (s *Server) TokenKeyChangedFrom() string { return s.keyChangedFrom }

// TokenKeyID is the ID of the server's token key (auth.Hasher.KeyID).
func (s *Server) TokenKeyID() string { return s.keyID }

// TokenKeyIDOf is the ID of token key key (auth.Hasher.KeyID).
func TokenKeyIDOf(key []byte) (string, error) {
	h, err := auth.NewHasher(key)
	if err != nil {
		return "", err
	}
	return h.KeyID(), nil
}

// StoredTokenKeyID is the ID of the token key the last server on st ran
// with; "" when st records none.
func StoredTokenKeyID(ctx context.Context, st store.Store) (string, error) {
	k, _, err := readTokenKey(ctx, st)
	return k.ID, err
}

// readTokenKey reads the record of the token key the last server on st
// ran with; found is false when st records none.
func readTokenKey(ctx context.Context, st store.Store) (k tokenKeyDoc, found bool, err error) {
	doc, err := st.Record(ctx, recTokenKey, "current")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return k, false, nil
	case err != nil:
		return k, false, fmt.Errorf("reading the token key's ID: %w", err)
	}
	if err := json.Unmarshal(doc, &k); err != nil {
		return k, true, fmt.Errorf("the stored token key ID is not readable (record %s/current): %w", recTokenKey, err)
	}
	return k, true, nil
}

// previousHashers are the hashers of keys by key ID, but for the one of
// ID current.
func previousHashers(keys [][]byte, current string) (map[string]*auth.Hasher, error) {
	m := map[string]*auth.Hasher{}
	for i, k := range keys {
		h, err := auth.NewHasher(k)
		if err != nil {
			return nil, fmt.Errorf("previous token key %d: %w", i+1, err)
		}
		if id := h.KeyID(); id != current {
			m[id] = h
		}
	}
	return m, nil
}

// hasherOf is the hasher of the key t was made under: the token key's,
// a previous key's (PreviousTokenKeys), or nil when the server has not
// that key, and t cannot authenticate.
func (s *Server) hasherOf(t *auth.Token) *auth.Hasher {
	k := t.Key
	if k == "" {
		k = s.keyLegacy
	}
	if k == s.keyID {
		return s.hasher
	}
	return s.previous[k]
}

// underKey reports whether t was made under the server's token key or
// one of its previous keys, the only tokens that can authenticate.
func (s *Server) underKey(t *auth.Token) bool { return s.hasherOf(t) != nil }

// checkTokenKey compares the token key with the one recorded at the last
// start and records this one. A change is logged and audited: the
// tokens of the previous key no longer authenticate (none is revived),
// and HasOperatorAdmin counts none of them, so that the start prints a
// bootstrap token instead of leaving the operators locked out. A
// rotation — the last start's key is among the previous keys — is
// logged and audited too, and changes nothing else: that key's tokens
// still authenticate.
func (s *Server) checkTokenKey(ctx context.Context) error {
	k, found, err := readTokenKey(ctx, s.store)
	rotatedFrom := "" // the last start's key, now a previous one
	switch {
	case err != nil:
		return fmt.Errorf("server: %w", err)
	case !found:
		// A new store, or one of a version that kept no key ID: its
		// tokens are taken to be of this key.
		k = tokenKeyDoc{ID: s.keyID, Legacy: s.keyID}
	case k.ID == "":
		return fmt.Errorf("server: the stored token key record (%s/current) holds no key ID", recTokenKey)
	default:
		if k.ID == s.keyID && slices.Equal(k.Previous, sortedKeys(s.previous)) {
			s.keyLegacy = k.Legacy
			return nil
		}
		if k.ID == s.keyID {
			break
		}
		if s.previous[k.ID] != nil {
			rotatedFrom = k.ID
			break
		}
		s.keyChangedFrom = k.ID
	}
	s.keyLegacy = k.Legacy
	lost := keyTokensLost(s.attemptsLosingTokens(k))
	now := s.cfg.Now().UTC()
	var dropped []string // previous keys of the last start this one has not
	for _, id := range k.Previous {
		if id != s.keyID && s.previous[id] == nil {
			dropped = append(dropped, id)
		}
	}
	if k.ID != s.keyID {
		k.Since = now
	}
	k.ID, k.Previous = s.keyID, sortedKeys(s.previous)
	doc, _ := json.Marshal(k)
	var evs []api.Event
	for _, id := range dropped {
		msg := fmt.Sprintf("previous token key dropped (key ID %s): the tokens made under it no longer authenticate", id)
		if s.keyChangedFrom == "" { // else the change's message says it
			msg += lostOr(lost, len(dropped) > 1, "another key dropped")
		}
		evs = append(evs, api.Event{Time: now, Type: EventToken, Actor: "server:token-key", Message: msg})
		s.log.Warn(msg, "key_id", s.keyID, "dropped_key_id", id)
	}
	if s.keyChangedFrom != "" {
		msg := fmt.Sprintf("token key changed (key ID %s, was %s): the tokens made under the previous key no longer authenticate",
			s.keyID, s.keyChangedFrom)
		msg += lostOr(lost, len(dropped) > 0, "a previous key dropped")
		evs = append(evs, api.Event{Time: now, Type: EventToken, Actor: "server:token-key", Message: msg})
		s.log.Error(msg+"; restore the previous key file to bring them back, or use the bootstrap token a start without an operator-admin token of this key prints",
			"key_id", s.keyID, "previous_key_id", s.keyChangedFrom)
	}
	if rotatedFrom != "" {
		msg := fmt.Sprintf("token key rotated (key ID %s, was %s): new tokens are made under the new key; those of the previous key authenticate while it is kept as a previous key",
			s.keyID, rotatedFrom)
		evs = append(evs, api.Event{Time: now, Type: EventToken, Actor: "server:token-key", Message: msg})
		s.log.Warn(msg+"; drop the previous key once its tokens are replaced", "key_id", s.keyID, "previous_key_id", rotatedFrom)
	}
	if err := s.putRecords(ctx, []store.Record{{Kind: recTokenKey, Key: "current", Doc: doc}}, evs); err != nil {
		return fmt.Errorf("server: recording the token key's ID: %w", err)
	}
	return nil
}
