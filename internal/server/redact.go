package server

import (
	"slices"
	"strings"
)

// A job's message and events belong to its tenant, who reads them: they
// must name no other tenant and no job of another (docs/security.md,
// "Tenant scoping"). The core's reasons are written for operators and
// may: "backfill: reserved for job X", "claimed by job X", "preempted for
// X: reclaim: tenant A takes back …", "preempting: evicting X, Y; …".
// ownView rewrites such references for the job's tenant; the plan
// (operator-only) and, for a preemption across tenants, a facility-wide
// event keep the full text.

// reference is a word after which the core names a job or a tenant,
// and what ownView writes in place of another tenant's.
type reference struct {
	word   string
	tenant bool // names a tenant, not a job
	list   bool // names one or more, separated by ", "
	other  string
}

// references are the words after which the core names a job (job, for,
// evicting: a list "X, Y") or a tenant (tenant, borrower).
var references = []reference{
	{"job ", false, false, "a job of another tenant"},
	{"for ", false, false, "for a job of another tenant"},
	{"evicting ", false, true, "a job of another tenant"},
	{"tenant ", true, false, "another tenant"},
	{"borrower ", true, false, "a borrower of another tenant"},
}

// ownView is msg as tenant may read it: each "job X", "for X" or an item
// of "evicting X, Y" where X is a job of another tenant, and each "tenant
// T" or "borrower T" where T is another tenant of the facility, is
// rewritten. Caller holds mu.
func (s *Server) ownView(tenant, msg string) string {
	if !slices.ContainsFunc(references, func(r reference) bool { return strings.Contains(msg, r.word) }) {
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
			if ref.word == "for " && strings.HasPrefix(msg[from:], "job ") {
				break // "for job X": X is the job, which "job " reads next
			}
			for {
				to, other := s.nameAt(tenant, msg, from, ref.tenant)
				if to == from {
					break
				}
				i = to - 1
				if other {
					if ref.list {
						b.WriteString(msg[last:from])
					} else {
						b.WriteString(msg[last : from-len(ref.word)])
					}
					b.WriteString(ref.other)
					last = to
				}
				if !ref.list || !strings.HasPrefix(msg[to:], ", ") {
					break
				}
				from = to + len(", ")
			}
			break
		}
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}

// nameAt reads the job ID or tenant name (isTenant) at msg[from:]: it
// ends at to, and other says whether it is another tenant than tenant,
// or a job of another. A name may end with dots: the longest reading
// that names one is taken, else the one without its trailing dots (a
// full stop). Caller holds mu.
func (s *Server) nameAt(tenant, msg string, from int, isTenant bool) (to int, other bool) {
	to = from
	for to < len(msg) && isIDByte(msg[to]) {
		to++
	}
	end := to
	for end > from && msg[end-1] == '.' {
		end--
	}
	for _, e := range []int{to, end} {
		if e == from {
			break
		}
		if whose, ok := s.owner(msg[from:e], isTenant); ok {
			return e, whose != tenant
		}
	}
	return end, false
}

// owner is the tenant of job name (or name itself, isTenant), and
// whether it names one: a tenant of the facility, a job in memory or one
// forgotten since the pass began (a job finished while the core named it
// in its plan). Caller holds mu.
func (s *Server) owner(name string, isTenant bool) (string, bool) {
	if isTenant {
		return name, s.fac.Tenant(name) != nil
	}
	if js := s.jobs[name]; js != nil {
		return js.doc.Tenant, true
	}
	t, ok := s.gone[name]
	return t, ok
}

// isIDByte reports whether c may be part of a job ID or tenant name.
func isIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}
