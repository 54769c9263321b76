package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/store"
)

// maxAuditPage is the most entries one answer of GET /v1/audit/entries
// holds (and its default limit). Without a bound, a tenant's list of a
// long log was one answer of hundreds of megabytes, built while every
// other audit request waited.
const maxAuditPage = 1000

// index records the entries just appended in byTenant and byJob. The
// caller holds a.mu.
func (a *auditor) index(done []audit.Entry) {
	for _, e := range done {
		if e.Tenant != "" {
			a.byTenant[e.Tenant] = append(a.byTenant[e.Tenant], e.Seq)
		}
		if e.Job != "" {
			a.byJob[e.Job] = append(a.byJob[e.Job], e.Seq)
		}
	}
}

// page returns the seqs of the entries of tenant (or of job, or of both
// when both are given) after seq after and below size, at most limit of
// them, and whether more follow. The caller holds a.mu.
func (a *auditor) page(tenant, job string, after, size int64, limit int) (seqs []int64, more bool) {
	list, other := a.byTenant[tenant], []int64(nil)
	if job != "" {
		list = a.byJob[job]
		if tenant != "" {
			other = a.byTenant[tenant]
		}
	}
	i, _ := slices.BinarySearch(list, after+1)
	for ; i < len(list) && list[i] < size; i++ {
		if other != nil {
			if _, ok := slices.BinarySearch(other, list[i]); !ok {
				continue
			}
		}
		if len(seqs) == limit {
			return seqs, true
		}
		seqs = append(seqs, list[i])
	}
	return seqs, false
}

// handleAuditEntries lists one tenant's entries (or one job's), a page at
// a time, with their inclusion proofs in the tree a checkpoint signs: a
// fresh one, or the one of the tree of size size (the first page's).
func (s *Server) handleAuditEntries(w http.ResponseWriter, r *http.Request) {
	tenant, job := r.URL.Query().Get("tenant"), r.URL.Query().Get("job")
	tenant, ok := scopeTenant(w, r, "auditEntries", tenant)
	if !ok {
		return
	}
	if tenant == "" && job == "" {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
			Errors: []api.FieldError{{Field: "tenant", Message: "give tenant or job: the entries of whom"}}})
		return
	}
	after, ok := queryInt(w, r, "after", -1, -1, math.MaxInt64-1)
	if !ok {
		return
	}
	limit, ok := queryInt(w, r, "limit", maxAuditPage, 1, maxAuditPage)
	if !ok {
		return
	}
	size, err := treeSize(r.URL.Query().Get("size"), false)
	if err != nil {
		badSize(w, "size", err.Error())
		return
	}
	ck, ok := s.auditCheckpoint(w, r)
	if !ok {
		return
	}
	s.audit.mu.Lock()
	if size > ck.Size {
		s.audit.mu.Unlock()
		badSize(w, "size", fmt.Sprintf("tree size %d is beyond the log's %d entries", size, ck.Size))
		return
	}
	if size > 0 && size < ck.Size {
		if ck, err = s.audit.signAt(size); err != nil {
			s.audit.mu.Unlock()
			problemf(w, http.StatusInternalServerError, "%v", err)
			return
		}
	}
	seqs, more := s.audit.page(tenant, job, after, ck.Size, int(limit))
	s.audit.mu.Unlock()
	// The log only grows: its entries and their proofs in a tree of a
	// size it has reached never change, and are read without the lock.
	out := api.AuditEntries{Checkpoint: string(ck.Note), Entries: make([]api.AuditEntry, 0, len(seqs))}
	es, err := s.audit.entriesAt(r.Context(), seqs)
	if err != nil {
		status := http.StatusServiceUnavailable // the database, for a while
		if errors.Is(err, errLogAltered) {
			status = http.StatusInternalServerError // for good: no retry mends it
		}
		problemf(w, status, "%v", err)
		return
	}
	for i, seq := range seqs {
		proof, err := s.audit.log.InclusionProof(seq, ck.Size)
		if err != nil {
			problemf(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		b, err := es[i].Canonical()
		if err != nil {
			problemf(w, http.StatusInternalServerError, "%v", err)
			return
		}
		out.Entries = append(out.Entries, api.AuditEntry{Entry: b, Proof: audit.EncodeHashes(proof)})
	}
	if more {
		next := seqs[len(seqs)-1]
		out.Next = &next
	}
	if len(out.Entries) == 0 && after < 0 {
		// A tenant with entries is known, even one the facility file no
		// longer lists and no stored job is of.
		if !s.knownTenant(w, r, tenant) {
			return
		}
		if job != "" {
			// A job that does not exist, or is another tenant's, is 404
			// as the job itself is: not an empty list, as if nothing of
			// it had been recorded.
			d, err := s.jobDoc(r, job)
			switch {
			case errors.Is(err, store.ErrNotFound) || err == nil && !principalOf(r).Sees(d.Tenant):
				problemf(w, http.StatusNotFound, "no job %q", job)
				return
			case err != nil:
				problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", job, err)
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// entryGap is the most entries between two of a page that entriesAt
// reads along with them rather than apart: a tenant's entries are
// mostly close together, and one read of a run costs about what one of
// an entry does (the log reads entries back from the events table).
const entryGap = 16

// entriesAt returns the entries of seqs (ascending), reading runs of
// close ones together while ctx is not done.
func (a *auditor) entriesAt(ctx context.Context, seqs []int64) ([]audit.Entry, error) {
	out := make([]audit.Entry, 0, len(seqs))
	for i := 0; i < len(seqs); {
		j := i + 1
		for j < len(seqs) && seqs[j]-seqs[j-1] <= entryGap {
			j++
		}
		run, err := a.log.Entries(ctx, seqs[i], seqs[j-1]+1)
		if err != nil {
			return nil, err
		}
		for _, seq := range seqs[i:j] {
			out = append(out, run[seq-seqs[i]])
		}
		i = j
	}
	return out, nil
}
