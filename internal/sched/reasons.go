package sched

import (
	"fmt"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

var levelPhrase = [...]string{"one NVLink domain", "one leaf switch", "one rack", "one hall", "one site"}

// placementVerdict explains a failed Find in the words of the policy that
// blocked it: backfill, sovereignty, topology or plain capacity.
func (p *pass) placementVerdict(j *model.Job, r *place.Request, res *place.Result, tags []string) verdict {
	name := p.modelName(r.Model)
	if r.Constrained && p.res != nil {
		free := *r
		free.Constrained = false
		if res := p.c.Find(&free); res.OK() {
			return verdict{code: model.ReasonBackfill, msg: fmt.Sprintf(
				"backfill: reserved for job %s (starts ~%s); this job's limit ends after that",
				p.res.job, p.res.start.Clock())}
		}
	}
	if r.Sites != nil {
		if elsewhere := p.freeElsewhere(r); len(elsewhere) > 0 && res.Fit < r.Replicas {
			return verdict{code: model.ReasonSovereignty, capacity: true, msg: fmt.Sprintf(
				"sovereignty: allowed %s; free %s only in %s", setString(tags), name, setString(elsewhere))}
		}
	}
	if res.Fit >= r.Replicas && r.Level < place.NumLevels && r.Required {
		return verdict{code: model.ReasonTopology, capacity: true, msg: fmt.Sprintf(
			"topology: needs %d GPUs in %s; largest free block is %d (%s)",
			r.Replicas*r.GPUs, levelPhrase[r.Level], res.Largest*r.GPUs, res.LargestGroup)}
	}
	if res.Fit >= r.Replicas {
		return verdict{code: model.ReasonTopology, capacity: true, msg: fmt.Sprintf(
			"topology: %d×%d %s fit only across sites; the job may not span sites", r.Replicas, r.GPUs, name)}
	}
	where := "any site"
	if len(tags) > 0 {
		where = setString(tags)
	}
	msg := fmt.Sprintf("capacity: needs %s %s in %s; %d usable free on eligible nodes",
		shape(r.Replicas, r.GPUs), name, where, res.FreeGPUs)
	if r.GPUs > 0 && res.FreeGPUs >= r.Replicas*r.GPUs {
		msg += fmt.Sprintf(", but no node has %d free together with %d CPUs and %d GiB", r.GPUs, r.CPUs, r.Mem)
	}
	if ex := rejectedString(res.Rejected); ex != "" {
		msg += " (" + ex + ")"
	}
	return verdict{code: model.ReasonCapacity, capacity: true, msg: msg}
}

// freeElsewhere lists the jurisdictions of disallowed sites where a
// replica of r would fit on free GPUs of its model.
func (p *pass) freeElsewhere(r *place.Request) []string {
	seen := map[string]bool{}
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		if pool.Model != r.Model || r.Sites[pool.Site] {
			continue
		}
		for _, n := range pool.Nodes {
			nd := &p.c.Nodes[n]
			if nd.Up && p.c.Usable(int(n), r.Tenant) >= r.GPUs {
				seen[p.fac.Sites[pool.Site].Country] = true
				break
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func rejectedString(m map[string]int) string {
	var parts []string
	for _, f := range []string{place.FilterNodeState, place.FilterSovereignty, place.FilterExclusive, place.FilterPower} {
		if n := m[f]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d nodes excluded by %s", n, f))
		}
	}
	return strings.Join(parts, ", ")
}

func shape(replicas, gpus int) string {
	if replicas == 1 {
		return fmt.Sprintf("%d", gpus)
	}
	return fmt.Sprintf("%d×%d", replicas, gpus)
}

func setString(s []string) string { return "{" + strings.Join(s, ", ") + "}" }

func modelsString(s []string) string {
	if len(s) == 0 {
		return "any GPU model"
	}
	return strings.Join(s, " or ")
}
