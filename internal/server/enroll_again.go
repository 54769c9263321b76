package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A join token enrolls a node name once (handleEnroll). After that, two
// ways lead to a new certificate for the name, neither open to a join
// token alone:
//
//   - the node renews its certificate with that certificate, while it
//     is valid: POST /v1/agent/enroll over mTLS, for its own name, in
//     its own site (renewNode; the agent does it, at a start or while it
//     runs, once less than a third of the certificate's life is left);
//   - an operator-admin allows one more enrollment with a join token of
//     its site (POST /v1/nodes/{name}/reenroll, carnot reenroll-node),
//     for a machine reinstalled or whose key was lost, or a certificate
//     left to expire; the enrollment that uses it clears it.

// renewNode serves an enrollment sent with a node's own certificate:
// a new certificate for the same name in the same site. prev is the
// name's enrollment record, nil when none.
func (s *Server) renewNode(w http.ResponseWriter, r *http.Request, req api.Enroll, prev *enrolledNode, refuse func(int, string)) {
	p := principalOf(r)
	switch {
	case req.Node != p.Node:
		refuse(http.StatusForbidden, fmt.Sprintf("node %s (by its certificate) renews its own certificate only, not node %s's", p.Node, req.Node))
		return
	case prev != nil && prev.Site != p.Site:
		refuse(http.StatusForbidden, fmt.Sprintf("node %s is enrolled in site %s now; its certificate of site %s cannot renew it", req.Node, prev.Site, p.Site))
		return
	}
	serial := ""
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		serial = r.TLS.VerifiedChains[0][0].SerialNumber.Text(16)
	}
	if prev != nil {
		// The certificate was checked when the request came in, but a
		// revocation or an enrollment may have refused it since, while
		// this waited for enrollMu: the record read under it decides.
		if a, limits := acceptedBy(*prev); limits {
			if why := a.refuses(req.Node, serial); why != "" {
				refuse(http.StatusUnauthorized, why)
				return
			}
		}
	}
	rec := enrolledNode{Site: p.Site, By: p.Subject}
	msg := fmt.Sprintf("node %s renewed its certificate in site %s", req.Node, p.Site)
	if prev != nil {
		// an operator's word stands until a join token uses it or it expires
		rec.ReenrollBy, rec.ReenrollUntil = prev.ReenrollBy, prev.ReenrollUntil
		rec.Generation = prev.Generation
		var unused string
		rec.Retired, rec.RetiredSince, unused = retiredOnRenewal(*prev, serial, s.cfg.Now().UTC())
		if unused != "" {
			msg = fmt.Sprintf("node %s renewed its certificate in site %s again with the certificate it renewed at %s (serial %s), "+
				"before the certificate that renewal issued (serial %s) was ever presented: that one is refused from now "+
				"(the renewal's answer was lost on its way, or another holder of the node's key renewed it)",
				req.Node, p.Site, prev.Enrolled.UTC().Format(time.RFC3339), serial, unused)
			s.log.Warn("node certificate renewed again before the certificate of its last renewal was used: that one is refused",
				"node", req.Node, "with", serial, "refused", unused)
		}
	}
	if serial != "" {
		// Accepted beside the new one until the node uses that
		// (retirePredecessor): its answer may be lost on its way, and
		// the node then renews again with this one.
		rec.Serials = []string{serial}
	}
	s.signNode(w, r, req, rec, msg)
}

// ErrNeverEnrolled is AllowReenroll's error for a node name that never
// enrolled: a join token of its site enrolls it as it is.
var ErrNeverEnrolled = errors.New("never enrolled")

// DefaultReenrollTTL is how long an allowance to enroll again lasts
// unless asked otherwise, and maxReenrollTTL the longest one: an
// allowance is a window in which a join token of the site mints the
// node's certificate, kept as short as the reinstall it is for.
const (
	DefaultReenrollTTL = time.Hour
	maxReenrollTTL     = 7 * 24 * time.Hour
)

// handleReenrollNode serves POST /v1/nodes/{name}/reenroll.
func (s *Server) handleReenrollNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !nodeName.MatchString(name) {
		problemf(w, http.StatusBadRequest, "%q is not a node name: 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		return
	}
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	var req api.ReenrollRequest
	if len(body) > 0 && !decodeStrict(w, body, &req) {
		return
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(maxReenrollTTL/time.Second) {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the allowance is not valid",
			Errors: []api.FieldError{{Field: "ttl_seconds", Message: fmt.Sprintf("from 1 to %d (7 days); 0 or absent is an hour", int64(maxReenrollTTL/time.Second))}}})
		return
	}
	ttl := DefaultReenrollTTL
	if req.TTLSeconds > 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	force, ok := queryBool(w, r, "force")
	if !ok {
		return
	}
	forced := ""
	if state := s.agentReporting(name); state != "" {
		if !force {
			problemf(w, http.StatusConflict, "%s", s.liveAgent(name, state))
			return
		}
		forced = fmt.Sprintf("forced while its agent still reports (%s)", state)
	}
	a, err := s.AllowReenroll(r.Context(), name, principalOf(r).Subject, ttl, forced)
	switch {
	case errors.Is(err, ErrNeverEnrolled):
		problemf(w, http.StatusNotFound, "node %s has never enrolled: a join token of its site enrolls it as it is", name)
	case errors.Is(err, errSiteUnknown):
		problemf(w, http.StatusConflict, "%v", err)
	case errors.Is(err, errUnreadableEnrollment):
		// Not for now: the record stays so until it is replaced.
		problemf(w, http.StatusConflict, "%v: revoke the node first (carnot revoke-node %s), which replaces it with one refusing its certificates, then allow it again", err, name)
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

// agentReporting says how node name's agent still reports (ready or
// draining: "ready; its last heartbeat 3s ago"): it then holds a valid
// certificate and renews it itself, and an allowance to enroll it again
// would let whoever holds a join token of its site take the name of a
// running node (a name mistyped). "" when it is silent or unknown, or
// its certificates are revoked (it cannot report any more, whatever its
// condition says until the heartbeat timeout).
func (s *Server) agentReporting(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[name]
	if n == nil || !n.agentReports() {
		return ""
	}
	ago := max(s.cfg.Now().Sub(n.doc.LastHeartbeat), 0).Round(time.Second)
	return fmt.Sprintf("%s; its last heartbeat %s ago", n.apiCondition(), ago)
}

// liveAgent says why an allowance to enroll node name again is refused
// without force, its agent reporting as state says (agentReporting).
func (s *Server) liveAgent(name, state string) string {
	s.mu.Lock()
	site := ""
	if n := s.nodes[name]; n != nil {
		site = n.doc.Site
	}
	s.mu.Unlock()
	return fmt.Sprintf("node %s's agent still reports (%s): it holds a valid certificate and renews it itself, "+
		"and an allowance would let whoever holds a join token of site %s enroll the name of a running node. Check the name; "+
		"to reinstall the machine, stop its agent first, or allow it anyway with: carnot reenroll-node --force %s (POST /v1/nodes/%s/reenroll?force=true)",
		name, state, site, name, name)
}

// AllowReenroll lets the next enrollment of node name with a join token
// of its site within ttl succeed, once, recording an event with actor as
// its actor; forced, when not "", says which check the allowance
// overrode, and is recorded with it. It fails with ErrNeverEnrolled for
// a name that never enrolled.
func (s *Server) AllowReenroll(ctx context.Context, name, actor string, ttl time.Duration, forced string) (api.Reenroll, error) {
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	rec, err := s.enrollment(ctx, name)
	if err != nil {
		return api.Reenroll{}, err
	}
	if rec.Site == "" {
		// Revoked while its record was not readable, and neither
		// registered nor listed since: a join token of any site would
		// take the name.
		return api.Reenroll{}, fmt.Errorf("node %s's %w: its enrollment record was not readable when its certificates were revoked, and it is neither registered nor in the facility file. "+
			"List it in the facility file under its site, then allow it again", name, errSiteUnknown)
	}
	now := s.cfg.Now().UTC()
	rec.ReenrollBy, rec.ReenrollUntil = actor, now.Add(ttl)
	doc, _ := json.Marshal(rec)
	until := rec.ReenrollUntil.Format(time.RFC3339)
	held := "the certificates it holds stay valid until that enrollment"
	if rec.RevokedBy != "" {
		held = fmt.Sprintf("the certificates it holds stay revoked (by %s)", rec.RevokedBy)
	}
	ev := api.Event{Time: now, Node: name, Type: api.EventNode, Actor: actor,
		Message: fmt.Sprintf("node %s may enroll once more with a join token of site %s, until %s; %s", name, rec.Site, until, held)}
	if forced != "" {
		ev.Message += "; " + forced
	}
	if err := s.putRecords(ctx, []store.Record{{Kind: recNode, Key: name, Doc: doc}}, []api.Event{ev}); err != nil {
		return api.Reenroll{}, fmt.Errorf("saving the enrollment: %w", err)
	}
	s.log.Info("node may enroll again", "node", name, "site", rec.Site, "until", until, "by", actor)
	return api.Reenroll{Node: name, Site: rec.Site, Expires: rec.ReenrollUntil}, nil
}

// errUnreadableEnrollment is enrollment's error for a record it cannot
// read (corrupt in the store).
var errUnreadableEnrollment = errors.New("not readable")

// errSiteUnknown is AllowReenroll's error for a node whose site the
// server cannot tell.
var errSiteUnknown = errors.New("site not known")

// enrollment reads the enrollment record of node name, to change it: it
// fails with ErrNeverEnrolled for a name that never enrolled, and with
// errUnreadableEnrollment for a record it cannot read. A record that
// names no site, written by a revocation of an unreadable record
// (RevokeNode), is of the site knownSite says now ("" still when none).
// Caller holds enrollMu.
func (s *Server) enrollment(ctx context.Context, name string) (enrolledNode, error) {
	doc, err := s.store.Record(ctx, recNode, name)
	var rec enrolledNode
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rec, fmt.Errorf("node %s: %w", name, ErrNeverEnrolled)
	case err != nil:
		return rec, fmt.Errorf("reading enrollments: %w", err)
	case json.Unmarshal(doc, &rec) != nil || rec.Site == "" && rec.RevokedBy == "":
		return enrolledNode{}, fmt.Errorf("the enrollment record of node %s is %w", name, errUnreadableEnrollment)
	case rec.Site == "":
		rec.Site, _ = s.knownSite(name)
	}
	return rec, nil
}

// knownSite is the site of node name as the server knows it beside its
// enrollment record, and where from: the site its agent registered in
// (its certificate's, so its enrollment's), else the facility file's;
// "" when neither.
func (s *Server) knownSite(name string) (site, from string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[name]; n != nil && n.registered && n.doc.Site != "" {
		return n.doc.Site, "the site its agent registered in"
	}
	for _, n := range s.fac.Nodes {
		if n.Name == name {
			return n.Site, "its site in the facility file"
		}
	}
	return "", ""
}
