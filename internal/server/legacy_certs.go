package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// An enrollment record written before serials were kept names none, and
// accepted every certificate of the name until the node's next renewal,
// which kept the certificate it was sent with and refused the others.
// Any certificate of the name could renew first and so keep the name;
// the server cannot tell the node's own from one of an earlier machine
// or a stolen key. The server keeps the first certificate presented
// instead: the same rule, applied at the node's first request rather
// than at its renewal, days later. It gives whoever holds another
// certificate nothing it did not have (it could renew at once), and
// shuts it out once the node's agent, which reconnects within a
// heartbeat of the upgrade, has presented its own. An agent whose
// renewal answer was lost before the upgrade presents the certificate it
// still holds, which is kept: it is not locked out. The node's logs
// token changes with it (logsToken), as at an enrollment; the agent
// learns the new one in the answer to its registration or heartbeat.

// isLegacy reports whether node's record names no serial and is not
// revoked: keepFirst keeps the next certificate presented.
func (c *nodeCerts) isLegacy(node string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.legacy[node]
}

// keepFirst keeps leaf, a certificate of node accepted so far, as the
// only one accepted for node, whose record names none (isLegacy), with
// an event saying so. It says why leaf is refused ("" when it is
// accepted): another certificate was kept first. It fails when the
// record cannot be saved; the next request tries again.
func (s *Server) keepFirst(ctx context.Context, node string, leaf *x509.Certificate) (string, error) {
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	if !s.certs.isLegacy(node) { // kept (or renewed, revoked) meanwhile
		return s.certs.refused(node, leaf), nil
	}
	doc, err := s.store.Record(ctx, recNode, node)
	var rec enrolledNode
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("reading node %s's enrollment: %w", node, err)
	case err != nil || json.Unmarshal(doc, &rec) != nil || rec.Site == "":
		// Gone, or no longer readable: left as loadNodeCerts reads it.
		s.certs.mu.Lock()
		delete(s.certs.legacy, node)
		s.certs.mu.Unlock()
		return "", nil
	}
	serial := leaf.SerialNumber.Text(16)
	if a, limits := acceptedBy(rec); limits { // cannot be: the leader alone writes it
		s.certs.set(node, rec)
		return a.refuses(node, serial), nil
	}
	now := s.cfg.Now().UTC()
	// A new logs token too, as an enrollment gives: the holders of
	// the name's other certificates learned the old one.
	rec.Serials, rec.KeptAt, rec.Generation = []string{serial}, now, serial
	doc, _ = json.Marshal(rec)
	ev := api.Event{Time: now, Node: node, Type: api.EventNode, Actor: "node:" + node,
		Message: fmt.Sprintf("node %s's certificate (serial %s) is kept as the only one accepted: its enrollment record, written by an earlier version of Carnot, named none "+
			"(every certificate of the name was accepted until a renewal); the first presented since is kept, as a renewal keeps the one it is sent with, and any other is refused", node, serial)}
	if err := s.putRecords(ctx, []store.Record{{Kind: recNode, Key: node, Doc: doc}}, []api.Event{ev}); err != nil {
		if maybeSaved(ctx, err) {
			s.certs.narrow(node, rec)
		}
		return "", fmt.Errorf("saving node %s's enrollment: %w", node, err)
	}
	s.certs.set(node, rec)
	s.log.Info("node certificate kept: its enrollment record named none", "node", node, "serial", serial)
	return "", nil
}
