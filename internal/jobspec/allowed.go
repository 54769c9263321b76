package jobspec

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// allowedSites is the sites a job may use by the scheduler's
// sovereignty rule (plan.SiteAllowed: a site carries a tag of its
// tenant's jurisdictions, of its own, as checkJurisdictions leaves them,
// and of its data class's, each list that has any), which the checks of
// a gang's size count alone.
type allowedSites struct {
	mask  []bool // by index in fac.Sites; nil: every site
	ids   map[string]bool
	key   string // mask as text, for room's cache
	n     int    // sites allowed
	where string // "par, ber; tenant eu-lab: EU or FR", for messages
}

// allowedKey is what an allowedSites answer is kept by.
type allowedKey struct{ tenant, jur, class string }

// allowed is the sites job j of tenant t (nil: unknown) may use, kept
// for the next job of the same tenant, jurisdictions and data class.
func (fi *facIndex) allowed(t *model.Tenant, j *model.Job) *allowedSites {
	var tenantTags []string
	k := allowedKey{jur: strings.Join(j.Jurisdictions, "\x00"), class: j.DataClass}
	if t != nil {
		tenantTags, k.tenant = t.Jurisdictions, t.Name
	}
	if a, ok := fi.allowedSets[k]; ok {
		return a
	}
	class := fi.fac.DataClasses[j.DataClass]
	a := &allowedSites{}
	if len(tenantTags) > 0 || len(j.Jurisdictions) > 0 || len(class) > 0 {
		a.mask, a.ids = make([]bool, len(fi.fac.Sites)), map[string]bool{}
		var ids []string
		for i := range fi.fac.Sites {
			site := &fi.fac.Sites[i]
			if plan.SiteAllowed(fi.fac, t, j, site) {
				a.mask[i], a.ids[site.ID] = true, true
				ids = append(ids, yamlin.Truncate(site.ID, 40))
			}
		}
		a.n = len(ids)
		if a.n == len(fi.fac.Sites) {
			a.mask, a.ids = nil, nil // every site: no constraint to count or name
		} else {
			for _, ok := range a.mask {
				a.key += map[bool]string{true: "1", false: "0"}[ok]
			}
			if len(ids) > 10 {
				ids = append(ids[:10], fmt.Sprintf("… (%d in all)", a.n))
			}
			a.where = strings.Join(ids, ", ")
			if len(tenantTags) > 0 {
				a.where += fmt.Sprintf("; tenant %s: %s", yamlin.Truncate(t.Name, 40), strings.Join(tenantTags, " or "))
			}
			if len(j.Jurisdictions) > 0 {
				a.where += "; jurisdictions: " + strings.Join(j.Jurisdictions, " or ")
			}
			if len(class) > 0 {
				a.where += fmt.Sprintf("; data class %s: %s", yamlin.Truncate(j.DataClass, 40), strings.Join(class, " or "))
			}
		}
	}
	if fi.allowedSets == nil {
		fi.allowedSets = map[allowedKey]*allowedSites{}
	}
	fi.allowedSets[k] = a
	return a
}

// may reports whether the job may use site (an ID).
func (a *allowedSites) may(site string) bool { return a.ids == nil || a.ids[site] }

// hold is "the facility holds", or which sites the job may use and that
// they hold, for a check's message.
func (a *allowedSites) hold() string {
	switch {
	case a.ids == nil:
		return "the facility holds"
	case a.n == 1:
		return "the only site it may use (" + a.where + ") holds"
	}
	return "the sites it may use (" + a.where + ") hold"
}

// checkNowhere refuses a job whose data class leaves it no site of
// those its tenant and its jurisdictions allow (checkJurisdictions
// refuses those that leave none): the scheduler would never start it.
// It reports whether the job has a site.
func (fi *facIndex) checkNowhere(s *spec, t *model.Tenant, a *allowedSites, c *yamlin.Collector) bool {
	if a.ids == nil || a.n > 0 {
		return true
	}
	j := &s.job
	var lists []string
	if t != nil && len(t.Jurisdictions) > 0 {
		lists = append(lists, fmt.Sprintf("tenant %s: %s", yamlin.Truncate(t.Name, 40), strings.Join(t.Jurisdictions, " or ")))
	}
	if len(j.Jurisdictions) > 0 {
		lists = append(lists, "jurisdictions: "+strings.Join(j.Jurisdictions, " or "))
	}
	which := "no site"
	if len(lists) > 0 {
		which = "no site the job may use (" + strings.Join(lists, "; ") + ")"
	}
	c.Add(s.lineOf(fDataClass), s.fpath(fDataClass), "%s carries a jurisdiction of data class %s (%s): the scheduler would never start it",
		which, yamlin.Truncate(j.DataClass, 40), strings.Join(fi.fac.DataClasses[j.DataClass], " or "))
	return false
}
