package sched_test

import (
	"fmt"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// The scenario DSL. One directive a line; words are positional, then
// key=value pairs. Times are RFC 3339, "2026-01-01T10:00" (UTC), or
// relative to the scenario clock ("+1h", "-30m"); durations are Go
// durations with an optional day prefix ("90m", "1d12h"). The clock
// starts at 2026-01-01T00:00:00Z. Unknown keys are errors.
//
// Facility (scenario_facility_test.go):
//
//	site ID country=FR jur=EU,FR envelope_kw=60 pue=1.2 zone=FR
//	hall ID site=S cap_kw=N                 (declare before its nodes)
//	rack ID hall=H cap_kw=N
//	nodes n[1-4] site=S hall=H rack=R nvlink=D leaf=L spine=X model=H100 gpus=8 cpus=128 mem=1024 base_w=800
//	model NAME tdp=W idle=W min=W max=W     (catalog has H100 H200 A100 GB300)
//	tenant NAME cohort=C quota=H100:16 borrow=8 lend=0 weight=1 jur=FR classes=high,normal exclusive=gpu|node
//	dataclass NAME jur=EU,FR      (data classification: where such data may live)
//	cohort NAME parent=P quota=... borrow=... lend=... weight=W (fair-share weight; default: its tenants' sum)
//	class NAME value=100 preemptible=yes|no
//	policy all=off fairshare=on halflife=7d quotas= preemption= reclaim= rate=N window=1h backfill= depth=N
//	       topology= power= capping= share= recap= cappedexp=0.5 deferral= carbon=0.5 sovereignty=
//	       reservation= booking= order=fifo|shortest-first
//
// Defaults: nodes are 8×H100, 128 CPUs, 1 TiB, 800 W base, each its own
// NVLink domain, in hall SITE-h1, rack SITE-r1 (or HALL-r1), leaf
// SITE-leaf1; the policy is model.DefaultPolicy().
//
// Work:
//
//	job ID tenant=T kind=job|deployment replicas=1 min=N gpus=1 models=H100,H200 cpus=4 mem=32
//	    class=C preemptible=yes|no grace=5m limit=1h jur=FR data=X topology=nvlink[:preferred]
//	    exclusive=yes submit=T earliest=T deadline=T
//	deployment ID ...                       (job with kind=deployment)
//	running ID on=n1:0-7 on=n2:0-7@450 started=-1h checkpoint=-10m terminating=yes evict=+5m for=J
//	    (plus the job keys; replicas and gpus follow the on= placements; @W is a power cap,
//	    @W/OWN one raised by a recap over the OWN cap the replica started with)
//	usage TENANT gpu_hours=100 asof=T
//	grid ZONE from=T prices=50,40,90 carbons=30,20,60   (hourly)
//	preempted at=-10m,-20m                  (earlier preemptions, for the rate limit)
//	seed N
//
// Submission order is declaration order: submit defaults to one hour
// before the clock plus one second per job declared. preemptible
// defaults to the class's setting.
//
// State changes:
//
//	now T | advance D                       set or move the clock
//	drain NODE | down NODE | up NODE
//	down NODE gpus=2,3 | up NODE gpus=2,3   GPUs its agent reports down (lost) or up again
//	dirty NODE gpus=0-3 tenant=T | scrub NODE [gpus=0-3]
//	finish JOB [dirty=yes]                  remove a running job, optionally leaving its GPUs dirty
//	cancel JOB                              remove a pending job
//	apply                                   starts of the last plan run from its time; victims get notices;
//	                                        recaps set their jobs' caps
//	evict [dirty=yes]                       terminating jobs past EvictAt stop and go back to pending
//	schedule [now=T]                        run the core; the expected plan follows after ----
type world struct {
	fac     *model.Facility
	states  map[string]*model.NodeState
	running []model.Allocation
	pending []*model.Job
	usage   []model.Usage
	grid    map[string]*model.GridSeries
	recent  []model.Time
	seed    int64
	clock   model.Time
	seq     int

	last     *model.Plan
	lastSnap *model.Snapshot
}

func newWorld() *world {
	return &world{fac: newFacility(), states: map[string]*model.NodeState{}, grid: map[string]*model.GridSeries{}, clock: t0}
}

// do runs one directive other than schedule.
func (w *world) do(fields []string) error {
	a, err := parseArgs(fields[1:])
	if err != nil {
		return err
	}
	handlers := map[string]func(*args) error{
		"site": w.site, "hall": w.hall, "rack": w.rack, "nodes": w.nodes, "node": w.nodes, "model": w.gpuModel,
		"tenant": w.tenant, "cohort": w.cohort, "class": w.class, "policy": w.policy, "dataclass": w.dataClass,
		"job": w.job, "deployment": w.deployment, "running": w.runningJob, "usage": w.usageOf, "grid": w.gridOf,
		"preempted": w.preempted, "seed": w.seedOf, "now": w.now, "advance": w.advance,
		"drain": w.condition(model.NodeDraining), "down": w.condition(model.NodeDown), "up": w.condition(model.NodeUp),
		"dirty": w.dirty, "scrub": w.scrub, "finish": w.finish, "cancel": w.cancel, "apply": w.apply, "evict": w.evict,
		"lose": w.lose,
	}
	h, ok := handlers[fields[0]]
	if !ok {
		return fmt.Errorf("unknown directive %q", fields[0])
	}
	if err := h(a); err != nil {
		return err
	}
	return a.done()
}

// snapshot builds the core's input from the world. Node states are
// sorted by node name.
func (w *world) snapshot() *model.Snapshot {
	s := &model.Snapshot{
		Facility:          w.fac,
		Running:           append([]model.Allocation(nil), w.running...),
		Pending:           append([]*model.Job(nil), w.pending...),
		Usage:             append([]model.Usage(nil), w.usage...),
		RecentPreemptions: append([]model.Time(nil), w.recent...),
		Seed:              w.seed,
	}
	for _, st := range w.states {
		s.Nodes = append(s.Nodes, *st)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Node < s.Nodes[j].Node })
	zones := make([]string, 0, len(w.grid))
	for z := range w.grid {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	for _, z := range zones {
		s.Grid = append(s.Grid, *w.grid[z])
	}
	return s
}

func (w *world) node(name string) *model.Node {
	for i := range w.fac.Nodes {
		if w.fac.Nodes[i].Name == name {
			return &w.fac.Nodes[i]
		}
	}
	return nil
}

func (w *world) state(name string) (*model.NodeState, error) {
	n := w.node(name)
	if n == nil {
		return nil, fmt.Errorf("unknown node %q", name)
	}
	st := w.states[name]
	if st == nil {
		st = &model.NodeState{Node: name, Condition: model.NodeUp}
		w.states[name] = st
	}
	for len(st.GPUs) < n.GPUs {
		st.GPUs = append(st.GPUs, model.GPUState{})
	}
	return st, nil
}

func (w *world) classByName(name string) *model.PriorityClass {
	for i := range w.fac.PriorityClasses {
		if w.fac.PriorityClasses[i].Name == name {
			return &w.fac.PriorityClasses[i]
		}
	}
	return nil
}
