package sched

import "github.com/carnot-dc/carnot/internal/model"

// siteAllowed is the sovereignty rule, the one plan.SiteAllowed checks:
// a site must carry at least one of the tenant's jurisdiction tags, one
// of the job's and one of its data class's; an empty list constrains
// nothing.
func siteAllowed(s *model.Site, tenantTags, jobTags, classTags []string) bool {
	return carriesAny(s, tenantTags) && carriesAny(s, jobTags) && carriesAny(s, classTags)
}

func carriesAny(s *model.Site, tags []string) bool {
	if len(tags) == 0 {
		return true
	}
	for _, t := range tags {
		if s.InJurisdiction(t) {
			return true
		}
	}
	return false
}

// describeTags is the constraint as messages print it: the tags both
// lists share, else the job's, else the tenant's.
func describeTags(tenantTags, jobTags []string) []string {
	var both []string
	for _, a := range jobTags {
		for _, b := range tenantTags {
			if a == b {
				both = append(both, a)
				break
			}
		}
	}
	switch {
	case len(both) > 0:
		return both
	case len(jobTags) > 0:
		return jobTags
	}
	return tenantTags
}
