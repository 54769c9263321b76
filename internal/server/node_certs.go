package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// Which of a node's certificates the server accepts. Every certificate
// the CA signed for a name is valid until it expires as far as TLS goes,
// so the server keeps, in the name's enrollment record, the serials of
// the ones it still accepts:
//
//   - an enrollment with a join token (the first, or one an operator
//     allowed with carnot reenroll-node for a machine reinstalled or a
//     key lost) accepts its new certificate only: the ones before are
//     refused from then on, wherever their key went;
//   - a renewal by the node itself accepts the new certificate and the
//     one it renewed with, until the node presents the new one: from its
//     first request with it, the new one only (retirePredecessor,
//     renewed_certs.go). A renewal whose answer was lost leaves the
//     node the old one, with which it renews again;
//   - an operator-admin's revocation (carnot revoke-node,
//     POST /v1/nodes/{name}/revoke) accepts none: the node's agent is
//     refused until it enrolls again, which takes reenroll-node.
//
// A record written before serials were kept names none: the first
// certificate of the name presented since is kept as the one accepted
// (keepFirst, legacy_certs.go), as the node's renewal would keep it.
// The leader keeps the records in memory (nodeCerts): it is the only
// replica that serves agents, and a replica that takes the lead reads
// them at its start.

// nodeCerts is the certificates accepted per node name, for
// authenticate; only names whose record names serials (or revoked all)
// are in it.
type nodeCerts struct {
	mu sync.RWMutex
	m  map[string]acceptedCerts
	// legacy are the names whose record names no serial (written
	// before they were kept) and is not revoked: the first certificate
	// presented is kept (keepFirst).
	legacy map[string]bool
}

// acceptedCerts is what a node's enrollment record accepts.
type acceptedCerts struct {
	serials []string
	since   time.Time // when the record last changed
	revoked string    // who revoked every certificate, "" when not revoked
	// kept is when the certificate accepted was kept as the first
	// presented after an upgrade (keepFirst); zero when it was issued.
	kept time.Time
	// generation is the record's Generation, which the node's logs
	// token is derived from.
	generation string
	// superseded is the certificate the last one issued renewed,
	// refused since supersededAt, the first use of its successor
	// (retirePredecessor); "" when none.
	superseded   string
	supersededAt time.Time
	// retired and retiredSince are the record's Retired and
	// RetiredSince: the other certificates its renewals refused, and
	// when the name enrolled with a join token (zero: not known).
	retired      []retiredCert
	retiredSince time.Time
}

// acceptedBy is what rec accepts, and whether it limits the
// certificates at all (a record written before serials were kept does
// not, unless revoked).
func acceptedBy(rec enrolledNode) (acceptedCerts, bool) {
	return acceptedCerts{serials: rec.Serials, since: rec.Enrolled, revoked: rec.RevokedBy, kept: rec.KeptAt, generation: rec.Generation,
			superseded: rec.Superseded, supersededAt: rec.SupersededAt, retired: rec.Retired, retiredSince: rec.RetiredSince},
		len(rec.Serials) > 0 || rec.RevokedBy != ""
}

// set records what rec accepts for node.
func (c *nodeCerts) set(node string, rec enrolledNode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.legacy = map[string]acceptedCerts{}, map[string]bool{}
	}
	a, limits := acceptedBy(rec)
	if !limits {
		delete(c.m, node)
		c.legacy[node] = true
		return
	}
	c.m[node] = a
	delete(c.legacy, node)
}

// narrow records, for node, what both its entry and rec accept: rec is
// a record whose write failed but may have been saved (maybeSaved), so
// the store may hold it or the record before. The server then refuses
// whatever either refuses, as its successor, reading the store, may.
func (c *nodeCerts) narrow(node string, rec enrolledNode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.legacy = map[string]acceptedCerts{}, map[string]bool{}
	}
	a, limits := acceptedBy(rec)
	if limits {
		delete(c.legacy, node)
	}
	old, had := c.m[node]
	switch {
	case !had:
		if !limits {
			return
		}
	case !limits:
		a = old
	default:
		a.serials = slices.DeleteFunc(slices.Clone(a.serials), func(s string) bool { return !slices.Contains(old.serials, s) })
		if old.revoked != "" {
			a.revoked, a.since = old.revoked, old.since
		}
	}
	c.m[node] = a
}

// generation is the Generation of node's enrollment record, "" when it
// has none.
func (c *nodeCerts) generation(node string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[node].generation
}

// NodeCertRefused says why the server refuses leaf, a certificate of
// node its CA signed, though valid (revoked, or replaced by an
// enrollment); "" when it accepts it.
func (s *Server) NodeCertRefused(node string, leaf *x509.Certificate) string {
	return s.certs.refused(node, leaf)
}

// refused says why node's certificate leaf is no longer accepted, ""
// when it is.
func (c *nodeCerts) refused(node string, leaf *x509.Certificate) string {
	why, _, _ := c.check(node, leaf)
	return why
}

// check is refused, whether it is refused because an operator-admin
// revoked every certificate of node (revoked), and whether node's record
// names no serial (legacy): the certificate is then accepted until
// another is kept (keepFirst). They are read at once: a certificate kept
// in between would otherwise let another through.
func (c *nodeCerts) check(node string, leaf *x509.Certificate) (why string, revoked, legacy bool) {
	c.mu.RLock()
	a, ok := c.m[node]
	legacy = c.legacy[node]
	c.mu.RUnlock()
	if !ok {
		return "", false, legacy
	}
	why = a.refuses(node, leaf.SerialNumber.Text(16))
	return why, why != "" && a.revoked != "", legacy
}

// refuses says why a accepts no certificate of node with serial (hex),
// "" when it does.
func (a acceptedCerts) refuses(node, serial string) string {
	switch {
	case slices.Contains(a.serials, serial):
		return ""
	case a.revoked != "":
		// Not who: the holder of a revoked certificate may be a stolen
		// key's; the node's events name the operator-admin's token.
		return fmt.Sprintf("node %s's certificates were revoked by an operator-admin at %s: its agent is refused until it enrolls again "+
			"(an operator-admin allows it with 'carnot reenroll-node %s', then the agent starts with a join token of its site)",
			node, a.since.UTC().Format(time.RFC3339), node)
	case serial == a.superseded:
		return fmt.Sprintf("node %s's certificate (serial %s) was renewed, and the certificate the renewal issued has been in use since %s: the one it renewed is refused. "+
			"The node's agent reconnects with the new one; whatever else presents this one holds an old copy of the node's key (a backup restored, a stolen key): "+
			"if it may have been copied, revoke the node (carnot revoke-node %s) and enroll it again",
			node, serial, a.supersededAt.UTC().Format(time.RFC3339), node)
	case slices.ContainsFunc(a.retired, func(r retiredCert) bool { return r.Serial == serial }):
		return a.retiredRefusal(node, serial)
	case !a.kept.IsZero():
		return fmt.Sprintf("node %s's certificate (serial %s) is not the one accepted for it: its enrollment record, written by an earlier version of Carnot, named none, "+
			"and the first certificate of the node presented since (at %s) was kept. If this machine is node %s, delete node.key and node.crt in its agent's --data-dir; "+
			"an operator-admin allows it to enroll again with 'carnot reenroll-node %s'",
			node, serial, a.kept.UTC().Format(time.RFC3339), node, node)
	case !a.retiredSince.IsZero():
		return fmt.Sprintf("node %s's certificate (serial %s) was replaced by an enrollment at %s: only the certificate issued then (and those it renews) is accepted. "+
			"If this machine is node %s, delete node.key and node.crt in its agent's --data-dir; an operator-admin allows it to enroll again with 'carnot reenroll-node %s'",
			node, serial, a.retiredSince.UTC().Format(time.RFC3339), node, node)
	default:
		// A record that does not say when the name enrolled: the
		// certificate may be from before it, or a renewal's.
		return fmt.Sprintf("node %s's certificate (serial %s) is not accepted: the node has a newer one, from an enrollment or a renewal (the last issued at %s), "+
			"and only that one (and those it renews) is accepted. If this machine is node %s, delete node.key and node.crt in its agent's --data-dir; "+
			"an operator-admin allows it to enroll again with 'carnot reenroll-node %s'",
			node, serial, a.since.UTC().Format(time.RFC3339), node, node)
	}
}

// retiredRefusal says why a refuses serial, a certificate of node in
// its retired.
func (a acceptedCerts) retiredRefusal(node, serial string) string {
	i := slices.IndexFunc(a.retired, func(r retiredCert) bool { return r.Serial == serial })
	r := a.retired[i]
	if r.Unused {
		return fmt.Sprintf("node %s's certificate (serial %s) was issued by a renewal, but the certificate it renewed was renewed again at %s, before this one was ever presented: "+
			"only the later renewal's certificate (and those it renews) is accepted (a renewal retried after its answer was lost, or a second holder of the node's key). "+
			"If this machine is node %s and holds no newer certificate, another copy of its key holds the one accepted: revoke the node (carnot revoke-node %s), "+
			"then enroll this machine again (carnot reenroll-node %s, then its agent starts with a join token of its site)",
			node, serial, r.At.UTC().Format(time.RFC3339), node, node, node)
	}
	return fmt.Sprintf("node %s's certificate (serial %s) was renewed, and is refused since %s; the node has renewed since. "+
		"The node's agent presents its newest certificate; whatever presents this one holds an old copy of the node's key (a backup restored, a stolen key): "+
		"if it may have been copied, revoke the node (carnot revoke-node %s) and enroll it again",
		node, serial, r.At.UTC().Format(time.RFC3339), node)
}

// loadNodeCerts reads the enrollment records into s.certs. An
// unreadable record accepts every certificate of its name, as
// handleEnroll reads it, until a revocation replaces it (RevokeNode).
func (s *Server) loadNodeCerts(ctx context.Context) error {
	recs, err := s.store.Records(ctx, recNode)
	if err != nil {
		return fmt.Errorf("server: reading node enrollments: %w", err)
	}
	for _, r := range recs {
		var rec enrolledNode
		if json.Unmarshal(r.Doc, &rec) == nil {
			s.certs.set(r.Key, rec)
			if n := s.nodes[r.Key]; n != nil && rec.RevokedBy != "" {
				n.revoked = true // the server to itself: New
			}
		}
	}
	return nil
}

// handleRevokeNode serves POST /v1/nodes/{name}/revoke.
func (s *Server) handleRevokeNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !nodeName.MatchString(name) {
		problemf(w, http.StatusBadRequest, "%q is not a node name: 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		return
	}
	switch err := s.RevokeNode(r.Context(), name, principalOf(r).Subject); {
	case errors.Is(err, ErrNeverEnrolled):
		problemf(w, http.StatusNotFound, "node %s has never enrolled: it holds no certificate to revoke", name)
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "%v", err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// RevokeNode makes the server refuse every certificate node name holds,
// from now, recording an event with actor as its actor: its agent is
// refused until it enrolls again (AllowReenroll, then a join token). It
// fails with ErrNeverEnrolled for a name that never enrolled. A record
// it cannot read does not stop it: it is replaced by one that accepts
// no certificate, of the site knownSite says ("" when none: a join token
// of no site enrolls the name), and the event says so.
func (s *Server) RevokeNode(ctx context.Context, name, actor string) error {
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	rec, err := s.enrollment(ctx, name)
	unreadable := ""
	if errors.Is(err, errUnreadableEnrollment) {
		// Fail closed: the record is replaced by one that accepts no
		// certificate of the name, of the site known otherwise.
		site, from := s.knownSite(name)
		rec, err = enrolledNode{Site: site}, nil
		unreadable = fmt.Sprintf("; its enrollment record was not readable: it is replaced by one that refuses every certificate of the node, in site %s (%s)", site, from)
		if site == "" {
			unreadable = "; its enrollment record was not readable: it is replaced by one that refuses every certificate of the node, whose site is not known " +
				"(a join token of no site enrolls it; list it in the facility file under its site before reenroll-node)"
		}
	}
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	withdrawn := ""
	if rec.ReenrollBy != "" && now.Before(rec.ReenrollUntil) {
		withdrawn = fmt.Sprintf("; the allowance to enroll it again that %s gave is withdrawn", rec.ReenrollBy)
	}
	// An allowance given before stands no more: the node comes back
	// only through one given after the revocation.
	rec.Serials, rec.RevokedBy, rec.Enrolled, rec.KeptAt = nil, actor, now, time.Time{}
	rec.Superseded, rec.SupersededAt, rec.Retired, rec.RetiredSince = "", time.Time{}, nil, time.Time{}
	rec.ReenrollBy, rec.ReenrollUntil = "", time.Time{}
	doc, _ := json.Marshal(rec)
	site := "site " + rec.Site
	if rec.Site == "" {
		site = "its site"
	}
	ev := api.Event{Time: now, Node: name, Type: api.EventNode, Actor: actor,
		Message: fmt.Sprintf("node %s's certificates revoked: its agent is refused from now until it enrolls again (carnot reenroll-node %s, then a join token of %s)%s%s; "+
			"what it runs is handled as on a silent node once its heartbeats stop", name, name, site, withdrawn, unreadable)}
	if err := s.putRecords(ctx, []store.Record{{Kind: recNode, Key: name, Doc: doc}}, []api.Event{ev}); err != nil {
		if maybeSaved(ctx, err) {
			s.certs.narrow(name, rec)
			s.setRevoked(name, true)
		}
		return fmt.Errorf("saving the enrollment: %w", err)
	}
	s.certs.set(name, rec)
	s.setRevoked(name, true)
	if unreadable != "" {
		s.log.Warn("node certificates revoked; its enrollment record was not readable and is replaced", "node", name, "site", rec.Site, "by", actor)
		return nil
	}
	s.log.Warn("node certificates revoked", "node", name, "site", rec.Site, "by", actor)
	return nil
}

// setRevoked records whether node's certificates are revoked (it then
// takes no new work: nodeState.revoked) and wakes the long polls of its
// agent, which check its certificate again: those of a certificate
// refused now end.
func (s *Server) setRevoked(node string, revoked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[node]; n != nil {
		if n.revoked != revoked {
			n.revoked = revoked
			s.Kick() // a pass sees the node's new condition
		}
		n.wake()
	}
}
