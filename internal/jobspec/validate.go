package jobspec

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// DefaultPriorityClass is the class of jobs that name none.
const DefaultPriorityClass = "normal"

// DefaultTopology is the topology of jobs that say none: as close as the
// facility allows, and a gang never split across sites (a training job
// spread over a WAN is never what anyone wants by default; say
// `topology: any` for that).
var DefaultTopology = model.Topology{Level: model.LevelSite}

// finish assigns IDs and defaults and runs every check, adding problems
// to c. Checks against the facility run only when fac is non-nil.
func finish(name string, specs []*spec, fac *model.Facility, c *yamlin.Collector, stored bool) {
	assignIDs(name, specs, c)
	checkDependsOn(specs, c)
	var fi *facIndex
	if fac != nil {
		fi = indexFacility(fac)
	}
	for _, s := range specs {
		defaults(s, c)
		checkJob(s, c, stored)
		if fi != nil {
			fi.check(s, c)
		}
	}
}

// needSubmitTimes reports every job without submit_time, for a replay.
func needSubmitTimes(specs []*spec, c *yamlin.Collector) {
	for _, s := range specs {
		if !s.has(fSubmitTime) {
			c.Add(s.line, s.fpath(fSubmitTime), "is required to replay the job on the digital twin, which submits it then "+
				`(an RFC 3339 time such as "2026-01-05T08:00:00Z", or Unix seconds)`)
		}
	}
}

// needDataClasses reports, for the twin, every job that names a data
// class when fac defines none (facIndex.check reports a class missing
// from those it defines). The live server refuses such a job, and ends
// one left pending by a facility change (server.unrunnable): the class
// says where the job's data may live, and a facility without it says
// nowhere, not anywhere. The core, which the twin's generated workloads
// feed such classes as labels, would run it on any site.
func needDataClasses(specs []*spec, fac *model.Facility, c *yamlin.Collector) {
	if fac == nil || len(fac.DataClasses) > 0 {
		return
	}
	for _, s := range specs {
		if dc := s.job.DataClass; dc != "" {
			c.Add(s.lineOf(fDataClass), s.fpath(fDataClass), "unknown data class %q: the facility defines no data class, "+
				"so none says where this job's data may live (the live server refuses the job too); remove data_class "+
				"or declare the class in the facility's data_classes", yamlin.Truncate(dc, 40))
		}
	}
}

// needRunnable reports every job the live control plane could not run:
// one without a command, or whose replicas ask for nothing.
func needRunnable(specs []*spec, c *yamlin.Collector) {
	for _, s := range specs {
		if !s.has(fCommand) {
			c.Add(s.line, s.fpath(fCommand), "is required to submit: the argv the node agent runs, e.g. [python, train.py]")
		}
		needResources(s, c)
	}
}

// needResources reports a job whose replicas ask for no GPUs, CPUs or
// memory: the scheduler never starts one (its reason is invalid), on
// the live control plane or on the twin.
func needResources(s *spec, c *yamlin.Collector) {
	j := &s.job
	if j.GPUsPerReplica == 0 && j.CPUsPerReplica == 0 && j.MemGiBPerReplica == 0 && !s.bad[fGPUs] {
		c.Add(s.lineOf(fGPUs), s.fpath(fGPUs), "a replica must ask for GPUs, CPUs or memory: give gpus, cpus or memory_gib")
	}
}

// assignIDs gives jobs without an id "<file-base>-<n>" (n is the job's
// position in the file, from 1), checks the format and rejects duplicates.
func assignIDs(name string, specs []*spec, c *yamlin.Collector) {
	base := autoBase(name)
	first := make(map[string]*spec, len(specs))
	for _, s := range specs {
		j := &s.job
		if !s.has(fID) {
			j.ID = base + "-" + strconv.Itoa(s.idx+1)
		} else if s.bad[fID] {
			continue
		} else if !validID(j.ID) {
			c.Add(s.lineOf(fID), s.fpath(fID), "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit (got %q)", yamlin.Truncate(j.ID, 40))
			continue
		}
		if f, ok := first[j.ID]; ok {
			how := ""
			if !s.has(fID) {
				how = " (assigned automatically: give this job an explicit id)"
			}
			c.Add(s.lineOf(fID), s.fpath(fID), "duplicate id %q: already used by %s on line %d%s", j.ID, f.path(), f.lineOf(fID), how)
			continue
		}
		first[j.ID] = s
	}
}

func autoBase(name string) string {
	b := filepath.Base(name)
	b = strings.TrimSuffix(b, filepath.Ext(b))
	var out strings.Builder
	for _, r := range b {
		if r < 128 && (isAlnum(byte(r)) || r == '.' || r == '_' || r == '-') {
			out.WriteRune(r)
		} else {
			out.WriteByte('-')
		}
	}
	s := strings.TrimLeft(out.String(), "._-")
	if len(s) > 100 {
		s = s[:100]
	}
	if s == "" {
		return "job"
	}
	return s
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func validID(id string) bool {
	if id == "" || len(id) > 128 || !isAlnum(id[0]) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// defaults fills in what the spec left out.
func defaults(s *spec, c *yamlin.Collector) {
	j := &s.job
	if j.Kind == "" {
		j.Kind = model.KindJob
	}
	if !s.has(fReplicas) {
		j.Replicas = 1
	}
	if !s.has(fTopology) {
		j.Topology = DefaultTopology
	}
	if !s.has(fPriorityClass) {
		j.PriorityClass = DefaultPriorityClass
	}
	switch {
	case j.Kind == model.KindJob && s.has(fMinReplicas):
		c.Add(s.lineOf(fMinReplicas), s.fpath(fMinReplicas), "applies only to kind: deployment (a job's replicas start together)")
		j.MinReplicas = j.Replicas
	case !s.has(fMinReplicas):
		j.MinReplicas = j.Replicas
	case j.MinReplicas > j.Replicas:
		c.Add(s.lineOf(fMinReplicas), s.fpath(fMinReplicas), "must be ≤ replicas (%d) (got %d)", j.Replicas, j.MinReplicas)
	}
	restartDefaults(s, c)
}

// checkJob runs the checks that need no facility; stored keeps what
// earlier versions accepted (Reload).
func checkJob(s *spec, c *yamlin.Collector, stored bool) {
	j := &s.job
	for _, f := range []field{fTenant, fGPUs} {
		if !s.has(f) {
			msg := "is required"
			if f == fGPUs {
				msg = "is required (GPUs per replica; 0 for CPU-only replicas)"
			}
			c.Add(s.line, s.fpath(f), "%s", msg)
		}
	}
	if s.has(fTenant) && !s.bad[fTenant] && j.Tenant == "" {
		c.Add(s.lineOf(fTenant), s.fpath(fTenant), "must not be empty")
	}
	if s.has(fPriorityClass) && !s.bad[fPriorityClass] && j.PriorityClass == "" {
		c.Add(s.lineOf(fPriorityClass), s.fpath(fPriorityClass), "must not be empty")
	}
	for _, f := range []field{fGPUModel, fJurisdictions} {
		l := j.GPUModels
		if f == fJurisdictions {
			l = j.Jurisdictions
		}
		for i, v := range l {
			switch {
			case v == "":
				c.Add(s.itemLine(f, i), fmt.Sprintf("%s[%d]", s.fpath(f), i), "must not be empty")
				s.bad[f] = true
			case f == fJurisdictions && !model.IsJurisdictionTag(v):
				c.Add(s.itemLine(f, i), fmt.Sprintf("%s[%d]", s.fpath(f), i),
					"%q is not a jurisdiction tag; tags are upper-case words such as EU, FR or US-GOV, one per entry", v)
				s.bad[f] = true // no facility check of a list already refused
			}
		}
	}
	checkEnd(s, c, stored)
	if j.Deadline == 0 {
		return
	}
	dl := s.lineOf(fDeadline)
	if j.Kind == model.KindDeployment {
		c.Add(dl, s.fpath(fDeadline), "deployments run until stopped and take no deadline")
		return
	}
	if j.RuntimeLimit == 0 {
		c.Add(dl, s.fpath(fDeadline), "needs runtime_limit: the window must be able to hold the job")
		return
	}
	// the window opens at the later of earliest_start and submit_time:
	// a job cannot start before it is submitted (earlier versions
	// measured it from earliest_start alone when it was set)
	from, what := j.EarliestStart, "earliest_start"
	if from == 0 || !stored && j.SubmitTime > from {
		from, what = j.SubmitTime, "submit_time"
	}
	switch {
	case from == 0:
	case j.Deadline <= from:
		c.Add(dl, s.fpath(fDeadline), "%s is not after %s %s", j.Deadline, what, from)
	case j.Deadline.Sub(from) < j.RuntimeLimit:
		c.Add(dl, s.fpath(fDeadline), "window %s..%s is %s, shorter than runtime_limit %s", from, j.Deadline, j.Deadline.Sub(from), j.RuntimeLimit)
	}
}

// checkEnd refuses a job whose runtime limit, from its submit_time or
// earliest_start (the later), ends past MaxTime: the twin would write its
// end as a time of year 10000, which no RFC 3339 reader reads back. A
// deadline is itself at most MaxTime, so only a job without one can.
// Stored specs keep what earlier versions accepted.
func checkEnd(s *spec, c *yamlin.Collector, stored bool) {
	j := &s.job
	from, what := j.SubmitTime, "submit_time"
	if j.EarliestStart > from {
		from, what = j.EarliestStart, "earliest_start"
	}
	if stored || from <= 0 || j.RuntimeLimit <= 0 || j.LatestEnd() <= MaxTime {
		return
	}
	most := MaxTime.Sub(from)
	c.Add(s.lineOf(fRuntimeLimit), s.fpath(fRuntimeLimit), "%s from %s %s ends past %s, the latest time carnot can write; give a runtime_limit of at most %ds (%s) or an earlier %s",
		j.RuntimeLimit.Readable(), what, from, MaxTime, most, most, what)
}

// facIndex is the facility looked up by name, built once per Load.
type facIndex struct {
	fac         *model.Facility
	tenants     map[string]*model.Tenant
	classes     map[string]*model.PriorityClass
	maxGPUs     map[string]int // largest node, by GPU model
	maxCPUs     map[string]int
	maxMem      map[string]int
	siteTags    map[string]bool
	allModels   []string
	siteIDs     []string                     // the sites of the nodes, in the nodes' order
	rooms       map[roomKey][]modelRoom      // room's answers
	held        map[int]map[siteModel]int    // heldOf's answers, by GPUs per replica
	allowedSets map[allowedKey]*allowedSites // allowed's answers
}

func indexFacility(f *model.Facility) *facIndex {
	fi := &facIndex{
		fac:      f,
		tenants:  map[string]*model.Tenant{},
		classes:  map[string]*model.PriorityClass{},
		maxGPUs:  map[string]int{},
		maxCPUs:  map[string]int{},
		maxMem:   map[string]int{},
		siteTags: map[string]bool{},
	}
	for i := range f.Tenants {
		fi.tenants[f.Tenants[i].Name] = &f.Tenants[i]
	}
	for i := range f.PriorityClasses {
		fi.classes[f.PriorityClasses[i].Name] = &f.PriorityClasses[i]
	}
	seen := map[string]bool{}
	for _, n := range f.Nodes {
		m := n.GPUModel
		fi.maxGPUs[m] = max(fi.maxGPUs[m], n.GPUs)
		fi.maxCPUs[m] = max(fi.maxCPUs[m], n.CPUs)
		fi.maxMem[m] = max(fi.maxMem[m], n.MemoryGiB)
		if !seen[n.Site] {
			seen[n.Site] = true
			fi.siteIDs = append(fi.siteIDs, n.Site)
		}
	}
	for _, s := range f.Sites {
		for _, t := range s.Jurisdictions {
			fi.siteTags[t] = true
		}
	}
	for m := range f.GPUModels {
		fi.allModels = append(fi.allModels, m)
	}
	slices.Sort(fi.allModels)
	return fi
}

// names lists up to ten keys of m, sorted, for messages.
func names[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	if len(ks) > 10 {
		return strings.Join(ks[:10], ", ") + fmt.Sprintf(", … (%d in all)", len(ks))
	}
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

func (fi *facIndex) check(s *spec, c *yamlin.Collector) {
	j := &s.job
	t := fi.tenants[j.Tenant]
	if t == nil && j.Tenant != "" {
		c.Add(s.lineOf(fTenant), s.fpath(fTenant), "unknown tenant %q (the facility has %s)", yamlin.Truncate(j.Tenant, 40), names(fi.tenants))
	}
	fi.checkClass(s, t, c)
	// the jurisdictions first: the size checks count the sites they
	// leave the job, as narrowed, and are left out when they leave none
	sited := !s.bad[fJurisdictions]
	if t != nil && sited {
		sited = fi.checkJurisdictions(s, t, c)
	}
	fi.checkModels(s, t, sited, c)
	if dc := j.DataClass; dc != "" && len(fi.fac.DataClasses) > 0 {
		if _, ok := fi.fac.DataClasses[dc]; !ok {
			c.Add(s.lineOf(fDataClass), s.fpath(fDataClass), "unknown data class %q (the facility has %s)", yamlin.Truncate(dc, 40), names(fi.fac.DataClasses))
		}
	}
}

func (fi *facIndex) checkClass(s *spec, t *model.Tenant, c *yamlin.Collector) {
	j := &s.job
	pc := fi.classes[j.PriorityClass]
	switch {
	case pc == nil && !s.has(fPriorityClass):
		c.Add(s.line, s.fpath(fPriorityClass), "is required: the facility has no class %q (it has %s)", DefaultPriorityClass, names(fi.classes))
		return
	case pc == nil:
		if j.PriorityClass != "" {
			c.Add(s.lineOf(fPriorityClass), s.fpath(fPriorityClass), "unknown priority class %q (the facility has %s)", yamlin.Truncate(j.PriorityClass, 40), names(fi.classes))
		}
		return
	}
	if !s.has(fPreemptible) {
		j.Preemptible = pc.Preemptible
	}
	if t != nil && len(t.PriorityClasses) > 0 && !slices.Contains(t.PriorityClasses, pc.Name) {
		c.Add(s.lineOf(fPriorityClass), s.fpath(fPriorityClass), "class %q is not allowed for tenant %s (allowed: %s)", pc.Name, t.Name, strings.Join(t.PriorityClasses, ", "))
	}
}

// checkModels checks the job's GPU models and its replicas' sizes
// against the nodes, and, when sited (its jurisdictions leave it
// sites), its gang against the sites it may use.
func (fi *facIndex) checkModels(s *spec, t *model.Tenant, sited bool, c *yamlin.Collector) {
	j := &s.job
	models := j.GPUModels
	if len(models) == 0 {
		models = fi.allModels
	}
	ok := true
	for i, m := range j.GPUModels {
		if _, known := fi.fac.GPUModels[m]; !known && m != "" {
			hint := "the facility has " + names(fi.fac.GPUModels)
			for _, name := range slices.Sorted(maps.Keys(fi.fac.GPUModels)) {
				if strings.EqualFold(name, m) {
					hint = fmt.Sprintf("did you mean %q? model names are case-sensitive", name)
					break
				}
			}
			c.Add(s.itemLine(fGPUModel, i), fmt.Sprintf("%s[%d]", s.fpath(fGPUModel), i), "unknown GPU model %q (%s)", yamlin.Truncate(m, 40), hint)
			ok = false
		}
	}
	if !ok {
		return
	}
	if j.GPUsPerReplica == 0 && len(j.GPUModels) == 0 {
		// a CPU-only replica may run on any node, whatever its GPUs
		var maxC, maxM int
		for m := range fi.maxCPUs {
			maxC, maxM = max(maxC, fi.maxCPUs[m]), max(maxM, fi.maxMem[m])
		}
		fi.checkHost(s, c, "no node", maxC, maxM)
		return
	}
	var maxG, maxC, maxM int
	for _, m := range models {
		maxG, maxC, maxM = max(maxG, fi.maxGPUs[m]), max(maxC, fi.maxCPUs[m]), max(maxM, fi.maxMem[m])
	}
	which := "no node"
	if len(j.GPUModels) > 0 {
		which = "no " + strings.Join(j.GPUModels, "/") + " node"
	}
	switch {
	case maxG == 0 && len(j.GPUModels) == 0:
		// no GPU model asked for: it is the GPUs that no node has
		c.Add(s.lineOf(fGPUs), s.fpath(fGPUs), "%d GPUs per replica, but no node of the facility has GPUs", j.GPUsPerReplica)
		return
	case maxG == 0:
		c.Add(s.lineOf(fGPUModel), s.fpath(fGPUModel), "no node of the facility has GPU model %s", strings.Join(models, " or "))
		return
	case j.GPUsPerReplica > maxG:
		c.Add(s.lineOf(fGPUs), s.fpath(fGPUs), "%d GPUs per replica, but %s has more than %d; split the work into more replicas", j.GPUsPerReplica, which, maxG)
	case j.GPUsPerReplica > 0 && sited:
		a := fi.allowed(t, j)
		if !fi.checkNowhere(s, t, a, c) {
			break
		}
		if rooms := fi.room(models, j.GPUsPerReplica, a); fi.checkFacility(s, rooms, a, c) {
			fi.checkOneSite(s, rooms, a, c)
		}
	}
	fi.checkHost(s, c, which, maxC, maxM)
}

// checkHost refuses a replica larger in CPUs or memory than the largest
// node that may hold it (which names those nodes), when the facility
// says how large its nodes are.
func (fi *facIndex) checkHost(s *spec, c *yamlin.Collector, which string, maxC, maxM int) {
	j := &s.job
	if maxC > 0 && j.CPUsPerReplica > maxC {
		c.Add(s.lineOf(fCPUs), s.fpath(fCPUs), "%d CPUs per replica, but %s has more than %d", j.CPUsPerReplica, which, maxC)
	}
	if maxM > 0 && j.MemGiBPerReplica > maxM {
		c.Add(s.lineOf(fMemory), s.fpath(fMemory), "%d GiB per replica, but %s has more than %d", j.MemGiBPerReplica, which, maxM)
	}
}

// checkJurisdictions narrows the job's jurisdictions to where its tenant
// may run. Tags name sets of sites, so the intersection is taken over
// sites: the job keeps its tags whose sites the tenant may all use (a
// tenant allowed EU keeps a job's FR, and drops its US); when none
// qualifies, or those that do would leave out a site both allow, the
// job keeps its tags as given (a job asking for EU of a tenant allowed
// FR keeps EU: the tenant's FR applies at placement all the same). The job's list only ever loses tags, never gains one: it is
// stored, and read against whatever facility the server later runs
// with, where a tag the tenant has (say a qualification its sites share)
// may name sites outside the job's own. No site in both is an error,
// and the result is false.
func (fi *facIndex) checkJurisdictions(s *spec, t *model.Tenant, c *yamlin.Collector) bool {
	j := &s.job
	if len(j.Jurisdictions) == 0 || s.bad[fJurisdictions] {
		return true
	}
	p, line := s.fpath(fJurisdictions), s.lineOf(fJurisdictions)
	job, tenant := fi.sitesOf(j.Jurisdictions), fi.sitesOf(t.Jurisdictions)
	if len(t.Jurisdictions) == 0 {
		tenant = fi.sitesOf(nil)
	}
	both := 0
	for i := range job {
		if job[i] && tenant[i] {
			both++
		}
	}
	if both == 0 {
		if len(t.Jurisdictions) > 0 && slices.Contains(job, true) {
			c.Add(line, p, "no site is both in %s and in %s, where tenant %s may run", strings.Join(j.Jurisdictions, " or "), strings.Join(t.Jurisdictions, " or "), t.Name)
		} else {
			c.Add(line, p, "no site of the facility is in %s (sites carry %s)", strings.Join(j.Jurisdictions, " or "), names(fi.siteTags))
		}
		return false
	}
	if len(t.Jurisdictions) == 0 {
		return true
	}
	within := func(tags []string) []string {
		var out []string
		for _, x := range tags {
			in := fi.sitesOf([]string{x})
			ok := slices.Contains(in, true) && !slices.Contains(out, x)
			for i := range in {
				ok = ok && (!in[i] || job[i] && tenant[i])
			}
			if ok {
				out = append(out, x)
			}
		}
		return out
	}
	eff := within(j.Jurisdictions)
	if len(eff) == 0 {
		return true
	}
	// the tags kept must leave the job every site both allow: a site
	// whose only tag of the job's also names sites the tenant may not
	// use would be lost (a job's EU or FR, of a tenant allowed FR or DE,
	// kept FR and lost the EU-and-DE sites)
	for i := range fi.fac.Sites {
		if job[i] && tenant[i] && !slices.ContainsFunc(eff, fi.fac.Sites[i].InJurisdiction) {
			return true
		}
	}
	j.Jurisdictions = eff
	return true
}

// sitesOf marks the sites carrying any of tags; nil tags mark every site.
func (fi *facIndex) sitesOf(tags []string) []bool {
	out := make([]bool, len(fi.fac.Sites))
	for i := range fi.fac.Sites {
		out[i] = tags == nil || slices.ContainsFunc(tags, fi.fac.Sites[i].InJurisdiction)
	}
	return out
}
