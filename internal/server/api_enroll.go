package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// recNode is the kind of the records of enrolled nodes: which site each
// node name belongs to, decided at its first enrollment.
const recNode = "node-identity"

// enrolledNode is the record of a node's enrollment.
type enrolledNode struct {
	Site     string    `json:"site"`
	Enrolled time.Time `json:"enrolled"`
	By       string    `json:"by"` // the join token
}

// handleEnroll turns a join token into a node certificate: the node's
// identity (name and the token's site) is what the server decides, never
// what the node claims beyond its name. A name enrolled in one site (or
// listed in the facility in one site) cannot enroll in another, unless
// the facility file lists it in that other site (it was moved there) or
// no longer has the site it enrolled in.
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
	s.mu.Unlock()
	if listedSite != "" && listedSite != p.Site {
		refuse(http.StatusForbidden, fmt.Sprintf("node %s is in site %s in the facility; a join token of site %s cannot enroll it", req.Node, listedSite, p.Site))
		return
	}
	doc, err := s.store.Record(r.Context(), recNode, req.Node)
	moved := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "reading enrollments: %v", err)
		return
	default:
		var prev enrolledNode
		switch {
		case json.Unmarshal(doc, &prev) != nil || prev.Site == p.Site:
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
	}
	cert, err := s.cfg.CA.SignNode([]byte(req.CSR), p.Site, req.Node, s.cfg.NodeCertTTL)
	if err != nil {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the enrollment is not valid",
			Errors: []api.FieldError{{Field: "csr", Message: err.Error()}}})
		return
	}
	now := s.cfg.Now().UTC()
	rec, _ := json.Marshal(enrolledNode{Site: p.Site, Enrolled: now, By: p.Subject})
	ev := api.Event{Time: now, Node: req.Node, Type: api.EventNode, Actor: p.Subject,
		Message: fmt.Sprintf("node %s enrolled in site %s%s", req.Node, p.Site, moved)}
	if err := s.putRecords(r.Context(), []store.Record{{Kind: recNode, Key: req.Node, Doc: rec}}, []api.Event{ev}); err != nil {
		problemf(w, http.StatusServiceUnavailable, "saving the enrollment: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.Enrolled{Node: req.Node, Site: p.Site, Certificate: string(cert),
		CA: string(s.cfg.CA.CertPEM()), Expires: now.Add(s.cfg.NodeCertTTL)})
}

// hasSite reports whether the facility has site id.
func (s *Server) hasSite(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.fac.Sites, func(st model.Site) bool { return st.ID == id })
}
