package server

import "strings"

// A job's message and events belong to its tenant, who reads them: they
// must name no other tenant and no job of another (docs/security.md,
// "Tenant scoping"). The core's reasons are written for operators and
// may: "backfill: reserved for job X", "claimed by job X", "preempted for
// X: reclaim: tenant A takes back …". ownView rewrites such references
// for the job's tenant; the plan (operator-only) and, for a preemption
// across tenants, a facility-wide event keep the full text.

// references are the words after which the core names a job (job, for)
// or a tenant (tenant, borrower).
var references = []struct {
	word   string
	tenant bool // names a tenant, not a job
	other  string
}{
	{"job ", false, "a job of another tenant"},
	{"for ", false, "for a job of another tenant"},
	{"tenant ", true, "another tenant"},
	{"borrower ", true, "a borrower of another tenant"},
}

// ownView is msg as tenant may read it: each "job X" or "for X" where X
// is a job of another tenant, and each "tenant T" or "borrower T" where T
// is another tenant of the facility, is rewritten. Caller holds mu.
func (s *Server) ownView(tenant, msg string) string {
	if !strings.Contains(msg, "job ") && !strings.Contains(msg, "for ") &&
		!strings.Contains(msg, "tenant ") && !strings.Contains(msg, "borrower ") {
		return msg
	}
	var b strings.Builder
	last := 0 // msg[:last] is in b
	for i := 0; i < len(msg); i++ {
		if i > 0 && isIDByte(msg[i-1]) {
			continue // inside a word
		}
		for _, ref := range references {
			if !strings.HasPrefix(msg[i:], ref.word) {
				continue
			}
			from := i + len(ref.word)
			to := from
			for to < len(msg) && isIDByte(msg[to]) {
				to++
			}
			for to > from && msg[to-1] == '.' { // a full stop, not the ID's
				to--
			}
			if to == from || !s.otherTenants(tenant, msg[from:to], ref.tenant) {
				continue
			}
			b.WriteString(msg[last:i])
			b.WriteString(ref.other)
			last, i = to, to-1
			break
		}
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}

// otherTenants reports whether name is another tenant than tenant (isTenant)
// or a job of another tenant. Caller holds mu.
func (s *Server) otherTenants(tenant, name string, isTenant bool) bool {
	if isTenant {
		return name != tenant && s.fac.Tenant(name) != nil
	}
	js := s.jobs[name]
	return js != nil && js.doc.Tenant != tenant
}

// isIDByte reports whether c may be part of a job ID or tenant name.
func isIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}
