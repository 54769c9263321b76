package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A node's renewal (renewNode) leaves two certificates of the name
// accepted: the new one, and the one the renewal was sent with (its
// predecessor). The server refuses the predecessor from the first
// request the node makes with the new certificate (retirePredecessor):
// a TLS handshake with the new certificate proves the node received it
// and holds its key, and from then on only a copy of the old key (a
// stolen one, a restored backup) still presents the old.
//
// It does not refuse it at the renewal itself: a renewal whose answer
// was lost on its way (the server signed and recorded it, the agent
// never got it) leaves the agent with the predecessor only, which must
// still authenticate so that it can renew again
// (TestRenewalWhoseAnswerIsLostIsRenewedAgain). That renewal then
// replaces the certificate the node never received, which is refused
// from then on. Nor does it keep the predecessor for a set time: an
// answer lost during an outage longer than that would strand the node
// (an operator's reenroll-node, a join token), and a stolen copy would
// keep that time after every renewal. Until the node presents the new
// certificate (its agent does at its next call, a heartbeat at most
// away) the predecessor works as before, a renewal with it included.
//
// Such a renewal with the predecessor, before the certificate the last
// one issued was presented, is issued as any (the answer it retries is
// not kept, and was for another key): the certificate the last one
// issued, never used, is refused from then, with an event that says so
// (retiredOnRenewal). The node's agent never presents it, as it never
// got it; what does got that answer after all, and so holds the
// node's key too (two machines started from one copy of the node's
// data dir, a stolen key renewing): one of the two holders is refused,
// the one that renewed first, and is told that the certificate it
// renewed was renewed again. That gives the holder of a stolen copy of
// the predecessor nothing it had not: it could renew with it anyway
// until the node presents a newer certificate, and the node, refused,
// says why.
//
// Every certificate a renewal made refused is kept in the record
// (Superseded, Retired), so that a request with one is told what
// happened to it; only one issued before the name's last enrollment
// with a join token is said to be replaced by it.

// retiredCert is a certificate of a node that a renewal made refused.
type retiredCert struct {
	Serial string    `json:"serial"` // hex
	At     time.Time `json:"at"`     // refused since
	// Unused: issued by a renewal, and refused at a later renewal with
	// the certificate it renewed, before it was presented.
	Unused bool `json:"unused,omitempty"`
}

// maxRetired bounds an enrollment record's Retired: a node renews once
// two thirds of its certificate's life are past, so the ones refused
// longest ago have long expired, and expired ones are refused as such.
const maxRetired = 16

// retiredOnRenewal is the Retired and RetiredSince of the record a
// renewal with the certificate serial writes, prev the record before,
// at now, and the certificate it refuses unused ("" when none): the
// last issued, when serial is the one that renewal was sent with.
func retiredOnRenewal(prev enrolledNode, serial string, now time.Time) (retired []retiredCert, since time.Time, unused string) {
	for i, s := range prev.Serials {
		if s == serial {
			continue
		}
		r := retiredCert{Serial: s, At: now}
		if i == 0 && slices.Contains(prev.Serials[1:], serial) {
			r.Unused, unused = true, s
		}
		retired = append(retired, r)
	}
	if prev.Superseded != "" {
		retired = append(retired, retiredCert{Serial: prev.Superseded, At: prev.SupersededAt})
	}
	retired = append(retired, prev.Retired...)
	since = prev.RetiredSince
	if len(retired) > maxRetired {
		retired, since = retired[:maxRetired], time.Time{}
	}
	return retired, since, unused
}

// successorUnused reports whether leaf, a certificate of node the server
// accepts, is the last issued to the name while the one it renewed is
// still accepted beside it: its first use refuses that one
// (retirePredecessor).
func (c *nodeCerts) successorUnused(node string, leaf *x509.Certificate) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.m[node]
	return ok && a.revoked == "" && len(a.serials) > 1 && a.serials[0] == leaf.SerialNumber.Text(16)
}

// retirePredecessor makes leaf, the certificate of node a renewal
// issued, used now for the first time (successorUnused), the
// only one accepted for node: the certificate it renewed is refused from
// now, with an event saying so. It says why leaf is refused ("" when it
// is accepted): a revocation or an enrollment may have come meanwhile.
// A record it cannot save leaves the predecessor accepted (the next
// request with leaf tries again); leaf is accepted all the same.
func (s *Server) retirePredecessor(ctx context.Context, node string, leaf *x509.Certificate) string {
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	if !s.certs.successorUnused(node, leaf) { // retired (or revoked, replaced) meanwhile
		return s.certs.refused(node, leaf)
	}
	serial := leaf.SerialNumber.Text(16)
	doc, err := s.store.Record(ctx, recNode, node)
	var rec enrolledNode
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		s.log.Warn("node certificate in use: its predecessor stays accepted until the next request, the enrollment record not readable",
			"node", node, "serial", serial, "err", err)
		return ""
	case err != nil || json.Unmarshal(doc, &rec) != nil:
		return "" // gone, or unreadable: left as loadNodeCerts reads it
	}
	if len(rec.Serials) < 2 || rec.Serials[0] != serial || rec.RevokedBy != "" { // cannot be: the leader alone writes it
		s.certs.set(node, rec)
		return s.certs.refused(node, leaf)
	}
	now := s.cfg.Now().UTC()
	old := rec.Serials[1]
	rec.Serials, rec.Superseded, rec.SupersededAt = rec.Serials[:1], old, now
	// A new logs token from now: the holder of a copy of old's key may
	// have learned the one before (logsToken).
	rec.Generation = serial
	doc, _ = json.Marshal(rec)
	ev := api.Event{Time: now, Node: node, Type: api.EventNode, Actor: "node:" + node,
		Message: fmt.Sprintf("node %s's renewed certificate (serial %s, issued %s) is in use: the certificate it was renewed from (serial %s) is refused from now",
			node, serial, rec.Enrolled.UTC().Format(time.RFC3339), old)}
	if err := s.putRecords(ctx, []store.Record{{Kind: recNode, Key: node, Doc: doc}}, []api.Event{ev}); err != nil {
		if maybeSaved(ctx, err) {
			s.certs.narrow(node, rec)
		}
		s.log.Warn("node certificate in use: its predecessor stays accepted until the next request, the enrollment record not saved",
			"node", node, "serial", serial, "err", err)
		return ""
	}
	s.certs.set(node, rec)
	s.mu.Lock()
	if n := s.nodes[node]; n != nil {
		n.wake() // its long polls check their certificate again: one of the predecessor's ends
	}
	s.mu.Unlock()
	s.log.Info("node certificate in use: the one it renewed is refused", "node", node, "serial", serial, "refused", old)
	return ""
}
