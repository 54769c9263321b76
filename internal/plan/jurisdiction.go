package plan

import "github.com/carnot-dc/carnot/internal/model"

// JurisdictionOK reports whether job, owned by tenant, may run at site.
// The scheduling core must apply exactly this rule.
//
// A site is allowed when it carries at least one of the tenant's
// jurisdiction tags and at least one of the job's; an empty list
// constrains nothing. So a job narrows its tenant's jurisdictions by
// site, never widens them: an EU tenant may run a job that asks for DE at
// a site tagged EU and DE, and a job that asks for EU from an FR-only
// tenant runs only at sites tagged FR (and EU). A nil tenant counts as
// one without jurisdictions; a nil site is allowed only when both lists
// are empty.
func JurisdictionOK(tenant *model.Tenant, job *model.Job, site *model.Site) bool {
	var tj []string
	if tenant != nil {
		tj = tenant.Jurisdictions
	}
	if len(tj) == 0 && len(job.Jurisdictions) == 0 {
		return true
	}
	if site == nil {
		return false
	}
	return carriesAny(site, tj) && carriesAny(site, job.Jurisdictions)
}

// SiteAllowed is JurisdictionOK plus the job's data classification: the
// site must also carry one of the jurisdiction tags fac lists for the
// job's data class. The scheduling core applies exactly this rule.
func SiteAllowed(fac *model.Facility, tenant *model.Tenant, job *model.Job, site *model.Site) bool {
	if !JurisdictionOK(tenant, job, site) {
		return false
	}
	var class []string
	if fac != nil {
		class = fac.DataClasses[job.DataClass]
	}
	if len(class) == 0 {
		return true
	}
	return site != nil && carriesAny(site, class)
}

func carriesAny(site *model.Site, tags []string) bool {
	if len(tags) == 0 {
		return true
	}
	for _, tag := range tags {
		if site.InJurisdiction(tag) {
			return true
		}
	}
	return false
}

// AllowedJurisdictions describes the constraint for messages: the tags
// both lists share, or the job's (the tenant's) when they share none or
// one is empty; any=true when every site is allowed.
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
	if len(allowed) == 0 {
		return jj, false
	}
	return allowed, false
}
