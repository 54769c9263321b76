package jobspec

import "github.com/carnot-dc/carnot/internal/model"

// Sizes is the rule of the checks of a gang's size (onemodel.go,
// onesite.go) for those that make jobs rather than read them: the
// workload generator sizes its gangs by it, so that every job it makes
// is one Load accepts. It counts as the checks do, with the same
// answers kept for the next job of the same shape and sites.
type Sizes struct{ fi *facIndex }

// NewSizes returns the size rule of fac's nodes and sites.
func NewSizes(fac *model.Facility) *Sizes { return &Sizes{fi: indexFacility(fac)} }

// Room is the most replicas job j of tenant t (nil: none) may need and
// pass the checks of a gang's size, its GPUs per replica, GPU models,
// kind, topology, jurisdictions and data class as they are: what one of
// its models holds, whole replicas per node, in all the sites j may use
// together, or in the fullest of them when j is a gang that stays in
// one site. A deployment needs its min_replicas (model.KeepsReplicas),
// a gang its replicas. Room is 0 for a job of no GPUs, which the checks
// do not bound (Fits accepts it).
func (s *Sizes) Room(t *model.Tenant, j *model.Job) int {
	if j.GPUsPerReplica <= 0 {
		return 0
	}
	models := j.GPUModels
	if len(models) == 0 {
		models = s.fi.allModels
	}
	a := s.fi.allowed(t, j)
	span, most := bounds(s.fi.room(models, j.GPUsPerReplica, a))
	if staysInSite(j) {
		return most
	}
	return span
}

// Fits reports whether the checks of a gang's size accept job j of
// tenant t: Room(t, j) holds what j needs to start, or j asks for no GPU
// (a CPU-only replica may run on any node; the loader counts no room
// for it).
func (s *Sizes) Fits(t *model.Tenant, j *model.Job) bool {
	return j.GPUsPerReplica <= 0 || needed(j) <= s.Room(t, j)
}

// staysInSite reports whether j is a gang the scheduler keeps in one
// site: any topology but "any" (onesite.go).
func staysInSite(j *model.Job) bool {
	return j.Kind == model.KindJob && j.Topology.Level != model.LevelAny
}

// bounds is the most replicas one model of rooms holds in all the sites
// together (span) and in one site (most).
func bounds(rooms []modelRoom) (span, most int) {
	for _, r := range rooms {
		span, most = max(span, r.span), max(most, r.most)
	}
	return span, most
}
