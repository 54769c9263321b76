package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// recAuditLog is the kind of the record of the audit log's identity (key
// "current"): its origin, fixed at the first start, and the signer key of
// the last start.
const recAuditLog = "audit-log"

// actorAuditKey is the actor of the event that records a change of the
// audit signer key.
const actorAuditKey = "server:audit-key"

type auditLogDoc struct {
	Origin string    `json:"origin"`
	Key    string    `json:"key"` // the signer's NAME+HASH, as its signatures name it
	Since  time.Time `json:"since"`
}

// newAuditor is the auditor of the log named origin, with the
// checkpoint it signed last when it keeps one (Config.AuditWitness).
func (s *Server) newAuditor(origin string, signer note.Signer) (*auditor, error) {
	a, err := newAuditor(origin, signer)
	if err != nil {
		return nil, err
	}
	if err := a.readFrom(s.store); err != nil {
		return nil, err
	}
	a.logger = s.log
	if s.cfg.AuditWitness != "" {
		a.witnessed = s.readWitness(s.cfg.AuditWitness)
	}
	return a, nil
}

// keyID names a signer key as the signature lines of its notes and the
// start of its verifier key do: NAME+HASH.
func keyID(s note.Signer) string { return fmt.Sprintf("%s+%08x", s.Name(), s.KeyHash()) }

// openAuditLog returns the auditor of the log the store holds. Its origin
// is the one recorded at the first start with an audit key ("carnot audit
// FACILITY" then), whatever the facility is called now: the log is the
// events table, and a checkpoint kept before a rename is of this log. A
// signer key other than the last start's is recorded as an event (both
// keys named) before anything is signed with it, and logged: from now on
// checkpoints verify with the new verifier key, and one kept from before
// opens with the previous key only (a rotation, or replicas that do not
// share audit.key).
func (s *Server) openAuditLog(ctx context.Context, signer note.Signer) (*auditor, error) {
	id := keyID(signer)
	doc := auditLogDoc{Origin: "carnot audit " + s.cfg.Facility.Name, Key: id}
	var was auditLogDoc
	b, err := s.store.Record(ctx, recAuditLog, "current")
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("reading the audit log's record: %w", err)
	default:
		// The record only tells what changed since the last start: one
		// that cannot be read (edited in the database) is logged and
		// made afresh, never a reason not to start.
		if err := json.Unmarshal(b, &was); err != nil || was.Origin == "" || was.Key == "" {
			s.log.Error("the audit log's record is not readable: it is recorded afresh, with the origin of this facility file; "+
				"a change of the signer key since the last start is not recorded", "record", recAuditLog+"/current", "err", err)
			was = auditLogDoc{}
			break
		}
		if was.Key == id {
			return s.newAuditor(was.Origin, signer)
		}
		doc.Origin = was.Origin
	}
	a, err := s.newAuditor(doc.Origin, signer)
	if err != nil {
		return nil, err
	}
	doc.Since = s.cfg.Now().UTC()
	rec, _ := json.Marshal(doc)
	var evs []api.Event
	if was.Key != "" {
		msg := fmt.Sprintf("audit signer key changed (%s, was %s): checkpoints are signed with the new key from now on; "+
			"one kept from before verifies with the previous verifier key", id, was.Key)
		evs = append(evs, api.Event{Time: doc.Since, Type: api.EventPolicy, Actor: actorAuditKey, Message: msg})
		s.log.Warn(msg+"; replicas on one store must share audit.key", "key", id, "previous_key", was.Key)
	}
	if err := s.putRecords(ctx, []store.Record{{Kind: recAuditLog, Key: "current", Doc: rec}}, evs); err != nil {
		return nil, fmt.Errorf("recording the audit log's key: %w", err)
	}
	return a, nil
}
