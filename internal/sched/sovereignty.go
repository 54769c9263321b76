package sched

import "github.com/carnot-dc/carnot/internal/model"

// allowedTags is the jurisdiction set a job may run in: the job's tags
// intersected with its tenant's; either alone when the other is empty;
// nil means anywhere. ok is false when both are set and disjoint.
func allowedTags(t *model.Tenant, j *model.Job) (tags []string, ok bool) {
	var tt []string
	if t != nil {
		tt = t.Jurisdictions
	}
	switch {
	case len(j.Jurisdictions) == 0:
		return tt, true
	case len(tt) == 0:
		return j.Jurisdictions, true
	}
	for _, a := range j.Jurisdictions {
		for _, b := range tt {
			if a == b {
				tags = append(tags, a)
				break
			}
		}
	}
	return tags, len(tags) > 0
}

// siteAllowed: a site is allowed when it carries at least one allowed
// tag; an empty set allows every site. This is the rule plan.Verify
// checks (plan.JurisdictionOK).
func siteAllowed(s *model.Site, tags []string) bool {
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
