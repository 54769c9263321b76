package plan

import "github.com/carnot-dc/carnot/internal/model"

// JurisdictionOK reports whether job, owned by tenant, may run at site.
// The scheduling core must apply exactly this rule.
//
// The allowed set of jurisdiction tags is job.Jurisdictions when the
// tenant has none, tenant.Jurisdictions when the job has none, and their
// intersection when both are non-empty (a job can narrow its tenant's
// jurisdictions, never widen them; an empty intersection allows no site).
// When both are empty every site is allowed. Otherwise a site is allowed
// when it carries at least one allowed tag. A nil tenant counts as one
// without jurisdictions; a nil site is allowed only when any site is.
func JurisdictionOK(tenant *model.Tenant, job *model.Job, site *model.Site) bool {
	allowed, any := AllowedJurisdictions(tenant, job)
	if any {
		return true
	}
	if site == nil {
		return false
	}
	for _, tag := range allowed {
		if site.InJurisdiction(tag) {
			return true
		}
	}
	return false
}

// AllowedJurisdictions returns the allowed tags of JurisdictionOK, or
// any=true when every site is allowed. The result is in the job's order
// (or the tenant's when the job has none).
func AllowedJurisdictions(tenant *model.Tenant, job *model.Job) (allowed []string, any bool) {
	var tj []string
	if tenant != nil {
		tj = tenant.Jurisdictions
	}
	jj := job.Jurisdictions
	switch {
	case len(jj) == 0 && len(tj) == 0:
		return nil, true
	case len(tj) == 0:
		return jj, false
	case len(jj) == 0:
		return tj, false
	}
	for _, j := range jj {
		for _, t := range tj {
			if j == t {
				allowed = append(allowed, j)
				break
			}
		}
	}
	return allowed, false
}
