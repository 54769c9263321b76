package server

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A partial preemption (model.Preemption.Replicas) takes some replicas
// of a running deployment: only those get the stop (api.Replica.StopBy,
// PreemptedFor: their tasks say Stop), the job stays running on the
// others and, below its replica count, queued to scale up again. Until
// they have ended, the replicas taken are the job's part, a terminating
// allocation the snapshot lists apart (model.LeavingJob); as each ends,
// its GPUs are released and claimed for the job it made room for.

// takeReplicas applies partial preemption pr to running deployment v.
// Caller holds mu.
func (s *Server) takeReplicas(v *jobState, pr *model.Preemption, now time.Time, c *changes) {
	stopBy := time.Unix(int64(pr.EvictAt), 0).UTC()
	var kept, taken []model.Placement
	var idx []string
	for _, p := range v.alloc.Replicas {
		i := slices.IndexFunc(v.doc.Replicas, func(r api.Replica) bool {
			return live(&r) && !r.Released && r.StopBy == nil && p.On(r.Node, r.GPUs)
		})
		if i < 0 || !model.HasReplica(pr.Replicas, p.Node, p.GPUs) {
			kept = append(kept, p)
			continue
		}
		r := &v.doc.Replicas[i]
		r.StopBy, r.PreemptedFor = ptrTime(stopBy), pr.Beneficiary
		taken = append(taken, p)
		idx = append(idx, fmt.Sprintf("%d on %s", r.Index, r.Node))
		c.bump(r.Node)
	}
	if len(taken) == 0 {
		return
	}
	v.alloc.Replicas = kept // a new slice: the core keeps the old one
	v.addPart(v.alloc.Started, taken, pr.EvictAt, pr.Beneficiary)
	v.doc.Preemptions++
	s.recent = append(s.recent, model.TimeOf(now))
	full := fmt.Sprintf("replica(s) %s preempted for %s: %s", strings.Join(idx, ", "), pr.Beneficiary, pr.Reason)
	c.job(v, api.EventPreempt, s.ownView(v.doc.Tenant, full))
	if b := s.jobs[pr.Beneficiary]; b != nil && b.doc.Tenant != v.doc.Tenant {
		c.events = append(c.events, api.Event{Type: api.EventPreempt, Message: fmt.Sprintf(
			"%d replica(s) of job %s of tenant %s preempted for job %s of tenant %s: %s", len(taken), v.doc.ID, v.doc.Tenant, b.doc.ID, b.doc.Tenant, pr.Reason)})
	}
	s.requeue(v)
}

// addPart adds taken to js's part, made on first use (an allocation
// started at started), leaving at evictAt for beneficiary; its replicas
// are a new slice: the core keeps the old one. Caller holds mu.
func (js *jobState) addPart(started model.Time, taken []model.Placement, evictAt model.Time, beneficiary string) {
	if js.part == nil {
		js.part = &model.Allocation{Job: model.LeavingJob(js.job), Started: started, Terminating: true}
	}
	p := js.part
	p.Replicas = append(p.Replicas[:len(p.Replicas):len(p.Replicas)], taken...)
	p.EvictAt, p.PreemptedFor = max(p.EvictAt, evictAt), beneficiary
}

// partEnded releases replica i of js, taken by a partial preemption,
// once it has ended: its GPUs go to the job it made room for, its GPU
// time to js's usage. Caller holds mu.
func (s *Server) partEnded(js *jobState, i int, now time.Time, c *changes) {
	r := &js.doc.Replicas[i]
	if a := js.part; a != nil {
		a.Replicas = slices.DeleteFunc(slices.Clone(a.Replicas), func(p model.Placement) bool {
			return p.On(r.Node, r.GPUs)
		})
		if len(a.Replicas) == 0 {
			js.part = nil
		}
	}
	if gs := replicaSeconds(js, r, now) * float64(len(r.GPUs)); gs > 0 {
		js.doc.Usage.GPUSeconds += gs
		s.charge(js.job.Tenant, gs, model.TimeOf(now))
	}
	r.Released, r.ReplaceAt = true, nil
	runsOn(js) // no longer on the replica that left
	ben := r.PreemptedFor
	r.PreemptedFor = "" // stored with the job once it has ended: it names no job any more
	if n := s.nodes[r.Node]; n != nil {
		s.claim(n, r.GPUs, ben, c)
		if !js.holdsOn(r.Node) {
			delete(n.jobs, js.doc.ID)
		}
	}
	c.job(js, api.EventEvicted, s.ownView(js.doc.Tenant, fmt.Sprintf("replica %d on %s left for %s; the deployment runs on", r.Index, r.Node, ben)))
	c.bump(r.Node)
	c.kick = true
	s.freed = true
	s.requeue(js)
}

// leaveNow ends the grace of js's replicas leaving for a partial
// preemption (their checkpoint acknowledged) and returns how many there
// are; none when their grace is over already (acknowledged before), and
// then it changes nothing. Caller holds mu.
func (s *Server) leaveNow(js *jobState, now time.Time, c *changes) int {
	n := 0
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		if live(r) && !r.Released && r.StopBy != nil && r.StopBy.After(now) {
			r.StopBy = ptrTime(now.UTC())
			c.bump(r.Node)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	if js.part != nil {
		js.part.EvictAt = model.TimeOf(now)
	}
	c.job(js, "", "")
	return n
}

// holdsOn reports whether js's allocation or its part has a replica on
// node.
func (js *jobState) holdsOn(node string) bool {
	on := func(p model.Placement) bool { return p.Node == node }
	return js.alloc != nil && slices.ContainsFunc(js.alloc.Replicas, on) || js.part != nil && slices.ContainsFunc(js.part.Replicas, on)
}

// holding yields the placements js holds: its allocation's and, until each
// has ended, those of the replicas a partial preemption takes (part),
// which keep their GPUs as the core counts them. Caller holds mu.
func (js *jobState) holding() iter.Seq[model.Placement] {
	return func(yield func(model.Placement) bool) {
		for _, a := range [...]*model.Allocation{js.alloc, js.part} {
			if a == nil {
				continue
			}
			for _, p := range a.Replicas {
				if !yield(p) {
					return
				}
			}
		}
	}
}

// partGone ends js's part with its attempt: the GPUs of the replicas it
// still held go to the job they made room for. Caller holds mu.
func (s *Server) partGone(js *jobState, c *changes) {
	a := js.part
	if a == nil {
		return
	}
	js.part = nil
	for i := range js.doc.Replicas {
		js.doc.Replicas[i].PreemptedFor = ""
	}
	for _, p := range a.Replicas {
		if n := s.nodes[p.Node]; n != nil {
			delete(n.jobs, js.doc.ID)
			s.claim(n, p.GPUs, a.PreemptedFor, c)
		}
		c.bump(p.Node)
	}
}

// takenReplicas is the records of the replicas partial preemption pr
// took, as they are now, for the plan's API view. Caller holds mu.
func (s *Server) takenReplicas(pr model.Preemption) []api.Replica {
	js := s.jobs[pr.Victim]
	if js == nil {
		return nil
	}
	var out []api.Replica
	for _, r := range js.doc.Replicas {
		if r.StopBy != nil && !r.Released && model.HasReplica(pr.Replicas, r.Node, r.GPUs) {
			r.PreemptedFor = "" // the preemption names its beneficiary
			out = append(out, r)
		}
	}
	return out
}
