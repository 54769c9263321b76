package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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
	rec := enrolledNode{Site: p.Site, By: p.Subject}
	if prev != nil {
		rec.ReenrollBy = prev.ReenrollBy // an operator's word stands until a join token uses it
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		// Accepted until it expires: the node's open connections present
		// it until they close.
		rec.Serials = []string{r.TLS.VerifiedChains[0][0].SerialNumber.Text(16)}
	}
	s.signNode(w, r, req, rec, fmt.Sprintf("node %s renewed its certificate in site %s", req.Node, p.Site))
}

// ErrNeverEnrolled is AllowReenroll's error for a node name that never
// enrolled: a join token of its site enrolls it as it is.
var ErrNeverEnrolled = errors.New("never enrolled")

// handleReenrollNode serves POST /v1/nodes/{name}/reenroll.
func (s *Server) handleReenrollNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !nodeName.MatchString(name) {
		problemf(w, http.StatusBadRequest, "%q is not a node name: 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		return
	}
	switch err := s.AllowReenroll(r.Context(), name, principalOf(r).Subject); {
	case errors.Is(err, ErrNeverEnrolled):
		problemf(w, http.StatusNotFound, "node %s has never enrolled: a join token of its site enrolls it as it is", name)
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "%v", err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// AllowReenroll lets the next enrollment of node name with a join token
// of its site succeed, once, recording an event with actor as its actor.
// It fails with ErrNeverEnrolled for a name that never enrolled.
func (s *Server) AllowReenroll(ctx context.Context, name, actor string) error {
	s.enrollMu.Lock()
	defer s.enrollMu.Unlock()
	doc, err := s.store.Record(ctx, recNode, name)
	var rec enrolledNode
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("node %s: %w", name, ErrNeverEnrolled)
	case err != nil:
		return fmt.Errorf("reading enrollments: %w", err)
	case json.Unmarshal(doc, &rec) != nil || rec.Site == "":
		return fmt.Errorf("the enrollment record of node %s is not readable", name)
	}
	rec.ReenrollBy = actor
	doc, _ = json.Marshal(rec)
	ev := api.Event{Time: s.cfg.Now().UTC(), Node: name, Type: api.EventNode, Actor: actor,
		Message: fmt.Sprintf("node %s may enroll once more with a join token of site %s; the certificates it holds stay valid until that enrollment", name, rec.Site)}
	if err := s.putRecords(ctx, []store.Record{{Kind: recNode, Key: name, Doc: doc}}, []api.Event{ev}); err != nil {
		return fmt.Errorf("saving the enrollment: %w", err)
	}
	s.log.Info("node may enroll again", "node", name, "site", rec.Site, "by", actor)
	return nil
}
