package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/secrets"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// EventSecret is the type of the events that record a secret being set or
// deleted (its name, never its value).
const EventSecret = api.EventSecret

// secretName is a secret's name.
var secretName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// sealedSecret is a secret as the store keeps it: the envelope-encrypted
// value (internal/secrets), bound to its tenant and name.
type sealedSecret struct {
	Updated time.Time `json:"updated"`
	Sealed  []byte    `json:"sealed"`
}

// secretAAD binds a sealed value to its tenant and name: a value copied
// under another name or tenant does not open.
func secretAAD(tenant, name string) []byte {
	return []byte("carnot/tenant/" + tenant + "/secret/" + name)
}

// secretTenant is the tenant a secrets request is about: the query's (or
// body's) or the caller's own, a tenant of the facility; "" after an
// answer.
func (s *Server) secretTenant(w http.ResponseWriter, r *http.Request, op, asked string) string {
	p := principalOf(r)
	t := asked
	if t == "" {
		t = p.Tenant
	}
	if t == "" {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
			Errors: []api.FieldError{{Field: "tenant", Message: "give the tenant whose secrets these are"}}})
		return ""
	}
	if !allow(w, r, op, t, "") {
		return ""
	}
	s.mu.Lock()
	fac := s.fac
	s.mu.Unlock()
	if !slices.ContainsFunc(fac.Tenants, func(ft model.Tenant) bool { return ft.Name == t }) {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid tenant",
			Errors: []api.FieldError{{Field: "tenant", Message: fmt.Sprintf("unknown tenant %q: not a tenant of the facility", yamlin.Truncate(t, 40))}}})
		return ""
	}
	return t
}

// checkSecrets opens every stored secret with the configured key wrapper
// and logs an error for each that does not open (its key removed from the
// key file, or another key under its id), naming the secret, its tenant
// and the key that sealed it: the server opens no secret in its work, so
// a lost key would otherwise go unnoticed until one is needed. The value
// is never kept or logged.
func (s *Server) checkSecrets(ctx context.Context) error {
	if s.cfg.Secrets == nil {
		return nil
	}
	recs, err := s.store.Records(ctx, recSecret)
	if err != nil {
		return fmt.Errorf("server: reading secrets: %w", err)
	}
	var closed []string // the keys (tenant/name) of those that do not open
	for _, rec := range recs {
		tenant, name, _ := strings.Cut(rec.Key, "/")
		var sec sealedSecret
		if err := json.Unmarshal(rec.Doc, &sec); err != nil {
			s.log.Error("a stored secret is not readable", "tenant", tenant, "secret", name, "err", err)
			closed = append(closed, rec.Key)
			continue
		}
		value, err := secrets.Open(ctx, s.cfg.Secrets, sec.Sealed, secretAAD(tenant, name))
		clear(value)
		if err != nil {
			s.log.Error("a stored secret does not open with the secrets key file: restore the key that sealed it, or set the secret again",
				"tenant", tenant, "secret", name, "err", err)
			closed = append(closed, rec.Key)
		}
	}
	slices.Sort(closed)
	return s.recordClosedSecrets(ctx, closed)
}

// recClosedSecrets is the record (key "current") of the secrets that did
// not open at the last start.
const recClosedSecrets = "secrets-closed"

// recordClosedSecrets compares the secrets that do not open (keys
// tenant/name, sorted) with those that did not at the last start, and
// records each change as a secret event of its tenant, actor
// server:secrets-key: a key file changed so that a secret no longer
// opens takes it from its tenant as a deletion would. The events name
// the secret, never its value or the key file.
func (s *Server) recordClosedSecrets(ctx context.Context, closed []string) error {
	var before []string
	doc, err := s.store.Record(ctx, recClosedSecrets, "current")
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("server: reading the secrets that did not open: %w", err)
	case json.Unmarshal(doc, &before) != nil:
		s.log.Error("the record of the secrets that did not open at the last start is not readable: it is recorded afresh",
			"record", recClosedSecrets+"/current")
		before = nil
	}
	if doc != nil && slices.Equal(before, closed) {
		return nil
	}
	now := s.cfg.Now().UTC()
	var evs []api.Event
	event := func(key, msg string) {
		tenant, name, _ := strings.Cut(key, "/")
		evs = append(evs, api.Event{Time: now, Tenant: tenant, Type: EventSecret, Actor: "server:secrets-key",
			Message: fmt.Sprintf(msg, name)})
	}
	for _, k := range closed {
		if !slices.Contains(before, k) {
			event(k, "secret %s does not open with the server's secrets key file (the key that sealed it is gone from it, or another key has its ID): "+
				"what needs it cannot have it until that key is restored or the secret set again")
		}
	}
	for _, k := range before {
		if !slices.Contains(closed, k) {
			event(k, "secret %s opens with the server's secrets key file again, or was set again or deleted")
		}
	}
	b, _ := json.Marshal(closed)
	if err := s.putRecords(ctx, []store.Record{{Kind: recClosedSecrets, Key: "current", Doc: b}}, evs); err != nil {
		return fmt.Errorf("server: recording the secrets that do not open: %w", err)
	}
	return nil
}

func (s *Server) secretsReady(w http.ResponseWriter) bool {
	if s.cfg.Secrets == nil {
		problemf(w, http.StatusServiceUnavailable, "this server has no secrets key (carnot server --secrets-key-file)")
		return false
	}
	return true
}

func (s *Server) handlePutSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !secretName.MatchString(name) {
		problemf(w, http.StatusBadRequest, "secret name %q: 1 to 128 letters, digits, '.', '_' or '-'", name)
		return
	}
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	// api.SecretValue, with its value's absence told from "": a body
	// without one (or with null) sets nothing, as its schema requires it.
	var v struct {
		Tenant string  `json:"tenant,omitempty"`
		Value  *string `json:"value"`
	}
	// Not decodeStrict: a value may hold any character, NUL included; it
	// is stored sealed, as bytes, and its tenant must be the facility's.
	if !decodeJSON(w, body, &v) {
		return
	}
	if v.Value == nil {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the body is not a valid request",
			Errors: []api.FieldError{{Field: "value", Message: "is required: the secret's value (\"\" for an empty one)"}}})
		return
	}
	tenant := s.secretTenant(w, r, "putSecret", v.Tenant)
	if tenant == "" || !s.secretsReady(w) {
		return
	}
	blob, err := secrets.Seal(r.Context(), s.cfg.Secrets, []byte(*v.Value), secretAAD(tenant, name))
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "sealing the secret: %v", err)
		return
	}
	now := s.cfg.Now().UTC()
	doc, _ := json.Marshal(sealedSecret{Updated: now, Sealed: blob})
	ev := api.Event{Time: now, Tenant: tenant, Type: EventSecret, Actor: principalOf(r).Subject,
		Message: fmt.Sprintf("set secret %s", name)}
	if err := s.putRecords(r.Context(), []store.Record{{Kind: recSecret, Key: tenant + "/" + name, Doc: doc}}, []api.Event{ev}); err != nil {
		problemf(w, http.StatusServiceUnavailable, "saving the secret: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.Secret{Tenant: tenant, Name: name, Updated: now})
}

func (s *Server) handleDeleteSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tenant := s.secretTenant(w, r, "deleteSecret", r.URL.Query().Get("tenant"))
	if tenant == "" {
		return
	}
	key := tenant + "/" + name
	switch _, err := s.store.Record(r.Context(), recSecret, key); {
	case errors.Is(err, store.ErrNotFound):
		problemf(w, http.StatusNotFound, "no secret %q of tenant %s", name, tenant)
		return
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "reading the secret: %v", err)
		return
	}
	ev := api.Event{Time: s.cfg.Now().UTC(), Tenant: tenant, Type: EventSecret, Actor: principalOf(r).Subject,
		Message: fmt.Sprintf("deleted secret %s", name)}
	if err := s.putRecords(r.Context(), []store.Record{{Kind: recSecret, Key: key}}, []api.Event{ev}); err != nil {
		problemf(w, http.StatusServiceUnavailable, "deleting the secret: %v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListSecrets(w http.ResponseWriter, r *http.Request) {
	tenant := s.secretTenant(w, r, "listSecrets", r.URL.Query().Get("tenant"))
	if tenant == "" {
		return
	}
	recs, err := s.store.Records(r.Context(), recSecret)
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading secrets: %v", err)
		return
	}
	out := api.SecretList{Secrets: []api.Secret{}}
	for _, rec := range recs {
		name, ok := strings.CutPrefix(rec.Key, tenant+"/")
		if !ok {
			continue
		}
		var sec sealedSecret
		if err := json.Unmarshal(rec.Doc, &sec); err != nil {
			problemf(w, http.StatusInternalServerError, "secret %s: %v", rec.Key, err)
			return
		}
		out.Secrets = append(out.Secrets, api.Secret{Tenant: tenant, Name: name, Updated: sec.Updated})
	}
	writeJSON(w, http.StatusOK, out)
}
