package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// tokenPrefix starts every token, so that secret scanners can find
// leaked ones.
const tokenPrefix = "carnot_"

// Token is a token as the server stores it: no secret, only its keyed
// hash.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Tenant    string    `json:"tenant,omitempty"`
	Site      string    `json:"site,omitempty"`
	Hash      []byte    `json:"hash"` // Hasher.Sum: the secret and the grant, keyed
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Expires   time.Time `json:"expires,omitzero"`
	Revoked   time.Time `json:"revoked,omitzero"`
	// Key is the Hasher.KeyID of the key the token was made under; ""
	// for a token made before tokens recorded it. It is not part of the
	// hash: it only tells a token of another key apart, which does not
	// authenticate whatever it says.
	Key string `json:"key,omitempty"`
	// Parent is the ID of the token that minted this one when that was
	// not an operator-admin's (a tenant-admin's): this one holds only
	// while its parent does, and never expires after it.
	Parent string `json:"parent,omitempty"`
}

// Valid reports why the token does not authenticate at now, or nil.
func (t *Token) Valid(now time.Time) error {
	switch {
	case !t.Revoked.IsZero():
		return errors.New("the token was revoked")
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return errors.New("the token expired")
	}
	return nil
}

// Hasher hashes token secrets under the server's token key.
type Hasher struct{ key []byte }

// NewHasher returns a hasher with key, which must be at least 32 bytes.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < 32 {
		return nil, errors.New("token key: need at least 32 bytes")
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

func (h *Hasher) sum(id, secret string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Mint makes a new token's ID and secret: it returns the text to hand
// to its holder once, and the record's ID and hash.
func (h *Hasher) Mint() (text, id string, hash []byte) {
	var idb [8]byte
	var sec [32]byte // 256 bits
	rand.Read(idb[:])
	rand.Read(sec[:])
	id = hex.EncodeToString(idb[:])
	secret := base64.RawURLEncoding.EncodeToString(sec[:])
	return tokenPrefix + id + "_" + secret, id, h.sum(id, secret)
}

// Match reports whether the secret of text matches the stored hash of
// Mint.
func (h *Hasher) Match(text string, stored []byte) bool {
	id, secret, err := Parse(text)
	if err != nil {
		return false
	}
	return hmac.Equal(h.sum(id, secret), stored)
}

// Sum is the hash a token record keeps: an HMAC of its secret and of what
// it grants (ID, name, role, tenant, site, creation, expiry, and the
// parent it holds through, when it has one), so that
// whoever can write the database but lacks the key cannot widen a token
// (another role, tenant or site, a later expiry) without it failing to
// authenticate. Revocation is not covered: it only takes power away.
func (h *Hasher) Sum(text string, t *Token) ([]byte, error) {
	id, secret, err := Parse(text)
	if err != nil {
		return nil, err
	}
	if id != t.ID {
		return nil, errors.New("the token's text is of another ID")
	}
	m := hmac.New(sha256.New, h.key)
	fields := []string{"carnot token v1", id, secret, t.Name, string(t.Role), t.Tenant, t.Site,
		t.Created.UTC().Format(time.RFC3339Nano), t.Expires.UTC().Format(time.RFC3339Nano)}
	if t.Parent != "" {
		// Only then, so that the hashes of tokens without one are those
		// made before tokens had parents.
		fields = append(fields, t.Parent)
	}
	for _, f := range fields {
		m.Write([]byte(f))
		m.Write([]byte{0})
	}
	return m.Sum(nil), nil
}

// Verify reports whether text is the token t records, with the grant it
// was created with.
func (h *Hasher) Verify(text string, t *Token) bool {
	sum, err := h.Sum(text, t)
	return err == nil && hmac.Equal(sum, t.Hash)
}

// ErrMalformed is returned by Parse for text that is not a token.
var ErrMalformed = errors.New("not a Carnot token")

// Parse splits a token's text into its ID and secret.
func Parse(text string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(text, tokenPrefix)
	if !ok {
		return "", "", ErrMalformed
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 16 || len(secret) != 43 {
		return "", "", ErrMalformed
	}
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", "", ErrMalformed
	}
	if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != 32 {
		return "", "", ErrMalformed
	}
	return id, secret, nil
}

// KeyID names the hasher's key without giving it away: the first 8
// bytes, in hex, of an HMAC of a fixed text under the key. Two servers
// with one key have one ID; a token records the ID of the key it was
// made under, so that a server with another key can tell it apart.
func (h *Hasher) KeyID() string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("carnot token key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}
