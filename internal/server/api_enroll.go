package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/store"
)

// recNode is the kind of the records of enrolled nodes: which site each
// node name belongs to, decided at its first enrollment.
const recNode = "node-identity"

// enrolledNode is the record of a node's enrollment.
type enrolledNode struct {
	Site     string    `json:"site"`
	Enrolled time.Time `json:"enrolled"`
	By       string    `json:"by"` // the join token, or the node renewing
	// ReenrollBy is the operator-admin who allowed one more enrollment
	// of the name with a join token (carnot reenroll-node), "" when none
	// is allowed; the enrollment that uses it clears it, and so does a
	// revocation (RevokeNode). It holds until ReenrollUntil.
	ReenrollBy string `json:"reenroll_by,omitempty"`
	// Serials are the certificates of the name the server accepts
	// (node_certs.go), in hex, the last issued first; none in a record
	// written before they were kept (every certificate accepted).
	Serials []string `json:"serials,omitempty"`
	// RevokedBy is the operator-admin who revoked every certificate of
	// the name (carnot revoke-node), "" unless revoked since the last
	// enrollment.
	RevokedBy string `json:"revoked_by,omitempty"`
	// ReenrollUntil is when that allowance expires. An allowance stored
	// without one (by a version before expiries) no longer holds: how old
	// it is cannot be told, and an open enrollment is what a leaked join
	// token needs.
	ReenrollUntil time.Time `json:"reenroll_until,omitzero"`
	// Generation is the serial (hex) of the certificate the name's last
	// enrollment with a join token issued (or, in a record an earlier
	// version wrote, the one kept: KeptAt), or of the certificate its
	// last renewal issued once the node used it (retirePredecessor),
	// kept by renewals until then: the node's logs token is derived from
	// it (logsToken), so that the holders of the name's certificates
	// refused since (before that enrollment, or the one renewed) no
	// longer know it. "" in a record written before it was kept.
	Generation string `json:"generation,omitempty"`
	// KeptAt is when the one serial in Serials was kept as the first
	// certificate of the name presented to a server that keeps serials,
	// its record written by an earlier version with none (keepFirst);
	// zero when the server issued it.
	KeptAt time.Time `json:"kept_at,omitzero"`
	// Superseded is the serial (hex) of the certificate the node renewed
	// its current one from, refused since SupersededAt, the first use of
	// the current one (retirePredecessor); "" when none was refused so
	// since the last certificate issued.
	Superseded   string    `json:"superseded,omitempty"`
	SupersededAt time.Time `json:"superseded_at,omitzero"`
	// Retired are the other certificates of the name its renewals made
	// refused (retiredOnRenewal), the last first, at most maxRetired:
	// a refusal of one says what happened to it.
	Retired []retiredCert `json:"retired,omitempty"`
	// RetiredSince is when the name last enrolled with a join token:
	// every certificate of the name issued since is in Serials,
	// Superseded or Retired, and one in none of them was replaced by
	// that enrollment. Zero when that is not known: a record written
	// before it was kept, or whose Retired left older ones out.
	RetiredSince time.Time `json:"retired_since,omitzero"`
}

// handleEnroll turns a join token into a node certificate: the node's
// identity (name and the token's site) is what the server decides, never
// what the node claims beyond its name. A join token enrolls a name once:
// a name already enrolled in the token's site is refused (409) unless an
// operator-admin allowed it again (handleReenrollNode), so that a join
// token cannot mint the certificate of a running node; the node itself
// renews its certificate with that certificate (renewNode). A name
// enrolled in one site (or listed in the facility in one site) cannot
// enroll in another, unless the facility file lists it in that other
// site (it was moved there) or no longer has the site it enrolled in.
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	var req api.Enroll
	if !decodeStrict(w, body, &req) {
		return
	}
	if !nodeName.MatchString(req.Node) {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the enrollment is not valid",
			Errors: []api.FieldError{{Field: "node", Message: "1–128 letters, digits, '.', '_' or '-', starting with a letter or digit"}}})
		return
	}
	if s.cfg.CA == nil {
		problemf(w, http.StatusServiceUnavailable, "this server has no certificate authority to sign node certificates")
		return
	}
	p := principalOf(r)
	refuse := func(status int, msg string) {
		ev := api.Event{Time: s.cfg.Now().UTC(), Node: req.Node, Type: api.EventNode, Actor: p.Subject, Message: msg}
		if err := s.putRecords(r.Context(), nil, []api.Event{ev}); err != nil {
			s.log.Error("recording a refused enrollment", "err", err)
		}
		problemf(w, status, "%s", msg)
	}
	s.enrollMu.Lock() // until the enrollment is recorded (or refused)
	defer s.enrollMu.Unlock()
	s.mu.Lock()
	listedSite := ""
	for _, n := range s.fac.Nodes {
		if n.Name == req.Node {
			listedSite = n.Site
		}
	}
	if n := s.nodes[req.Node]; n != nil && n.doc.Removed {
		// Kept in its old site for what it may still run
		// (removed_nodes.go): the file's word on where it is holds.
		fn, _ := s.fileNode(req.Node)
		listedSite = fn.Site
	}
	s.mu.Unlock()
	switch {
	case listedSite == "" || listedSite == p.Site:
	case p.Role == auth.Node:
		// The facility file moved the node: its certificate binds it to
		// the site it enrolled in, and a renewal keeps the site.
		refuse(http.StatusForbidden, fmt.Sprintf("node %s's certificate names site %s, but the facility file now lists it in site %s: its certificate cannot renew it. "+
			"Enroll it in site %s: delete node.key and node.crt in its agent's --data-dir, then start the agent with a join token of site %s (carnot token create --role join --site %s)",
			req.Node, p.Site, listedSite, listedSite, listedSite, listedSite))
		return
	default:
		refuse(http.StatusForbidden, fmt.Sprintf("node %s is in site %s in the facility; a join token of site %s cannot enroll it", req.Node, listedSite, p.Site))
		return
	}
	doc, err := s.store.Record(r.Context(), recNode, req.Node)
	var prev *enrolledNode
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "reading enrollments: %v", err)
		return
	default:
		prev = &enrolledNode{}
		if json.Unmarshal(doc, prev) != nil {
			*prev = enrolledNode{}
		}
		if prev.Site == "" {
			// Unreadable, or revoked while it was (RevokeNode): enrolled,
			// in no other site.
			prev.Site = p.Site
		}
	}
	if p.Role == auth.Node {
		s.renewNode(w, r, req, prev, refuse)
		return
	}
	moved := ""
	// allowed: an operator-admin's allowance to enroll it again holds.
	allowed := prev != nil && prev.ReenrollBy != "" && s.cfg.Now().Before(prev.ReenrollUntil)
	revoked := func() {
		refuse(http.StatusConflict, fmt.Sprintf("node %s's certificates were revoked by an operator-admin at %s: a join token enrolls it again only once an operator-admin allowed it with: carnot reenroll-node %s",
			req.Node, prev.Enrolled.UTC().Format(time.RFC3339), req.Node))
	}
	switch {
	case prev == nil:
	case prev.Site == p.Site && allowed:
		moved = fmt.Sprintf(" again, as %s allowed", prev.ReenrollBy)
	case prev.Site == p.Site && prev.ReenrollBy != "":
		why := "expired at " + prev.ReenrollUntil.UTC().Format(time.RFC3339)
		if prev.ReenrollUntil.IsZero() {
			why = "was stored by an earlier version of Carnot with no expiry, and no longer holds"
		}
		// Neither here nor below who (an operator-admin's token): a
		// join token is a machine's; the node's events name it.
		refuse(http.StatusConflict, fmt.Sprintf("node %s is already enrolled in site %s, and the allowance to enroll it again %s; "+
			"an operator-admin allows it again with: carnot reenroll-node %s", req.Node, prev.Site, why, req.Node))
		return
	case prev.Site == p.Site && prev.RevokedBy != "":
		revoked()
		return
	case prev.Site == p.Site:
		refuse(http.StatusConflict, fmt.Sprintf("node %s is already enrolled in site %s (its last certificate issued %s): a join token enrolls a name once, "+
			"and its agent renews its certificate with that certificate. To enroll it again (its machine reinstalled, its key lost), "+
			"an operator-admin allows it first with: carnot reenroll-node %s",
			req.Node, prev.Site, prev.Enrolled.UTC().Format(time.RFC3339), req.Node))
		return
	case (listedSite == p.Site || !s.hasSite(prev.Site)) && prev.RevokedBy != "" && !allowed:
		// A move does not undo a revocation: the node comes back only
		// through an allowance given after it.
		revoked()
		return
	case listedSite == p.Site:
		// The facility file moved it: the operator's word on where
		// a node is wins over its first enrollment.
		moved = fmt.Sprintf(" (moved from site %s, as the facility file lists it)", prev.Site)
	case !s.hasSite(prev.Site):
		// Its site is gone from the facility, which refuses its
		// nodes: the first enrollment protects nothing.
		moved = fmt.Sprintf(" (moved from site %s, which the facility no longer has)", prev.Site)
	default:
		refuse(http.StatusForbidden, fmt.Sprintf("node %s is enrolled in site %s; a join token of site %s cannot move it", req.Node, prev.Site, p.Site))
		return
	}
	s.signNode(w, r, req, enrolledNode{Site: p.Site, By: p.Subject}, fmt.Sprintf("node %s enrolled in site %s%s", req.Node, p.Site, moved))
}

// signNode signs req's certificate request for rec's site, records rec
// with the new certificate's serial first among those accepted (rec's
// Serials: the one a renewal was sent with, none for an enrollment)
// (its time set now) with an event saying msg, and answers the
// certificate.
func (s *Server) signNode(w http.ResponseWriter, r *http.Request, req api.Enroll, rec enrolledNode, msg string) {
	cert, err := s.cfg.CA.SignNode([]byte(req.CSR), rec.Site, req.Node, s.cfg.NodeCertTTL)
	if err != nil {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the enrollment is not valid",
			Errors: []api.FieldError{{Field: "csr", Message: err.Error()}}})
		return
	}
	signed, err := pki.ParseCertPEM(cert)
	if err != nil {
		problemf(w, http.StatusInternalServerError, "reading the certificate signed: %v", err)
		return
	}
	serial := signed.SerialNumber.Text(16)
	now := s.cfg.Now().UTC()
	rec.Enrolled, rec.RevokedBy = now, ""
	rec.Serials = append([]string{serial}, rec.Serials...)
	if principalOf(r).Role != auth.Node {
		rec.Generation = serial // an enrollment with a join token: renewals keep it
		rec.RetiredSince = now
	}
	doc, _ := json.Marshal(rec)
	ev := api.Event{Time: now, Node: req.Node, Type: api.EventNode, Actor: principalOf(r).Subject, Message: msg}
	if err := s.putRecords(r.Context(), []store.Record{{Kind: recNode, Key: req.Node, Doc: doc}}, []api.Event{ev}); err != nil {
		if maybeSaved(r.Context(), err) {
			s.certs.narrow(req.Node, rec) // the certificates it replaces may be refused in the store
		}
		problemf(w, http.StatusServiceUnavailable, "saving the enrollment: %v", err)
		return
	}
	s.certs.set(req.Node, rec)
	if principalOf(r).Role != auth.Node {
		s.setRevoked(req.Node, false) // and the polls of the certificates it replaced end
	}
	writeJSON(w, http.StatusOK, api.Enrolled{Node: req.Node, Site: rec.Site, Certificate: string(cert),
		CA: string(s.cfg.CA.CertPEM()), Expires: signed.NotAfter.UTC()}) // the CA's end may cut it short
}

// hasSite reports whether the facility has site id.
func (s *Server) hasSite(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.fac.Sites, func(st model.Site) bool { return st.ID == id })
}
