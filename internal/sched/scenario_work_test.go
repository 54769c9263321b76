package sched_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Work and state directives of the scenario DSL; see scenario_dsl_test.go.

// jobFrom builds a job from the common job keys.
func (w *world) jobFrom(a *args, kind model.Kind) (*model.Job, error) {
	if len(a.pos) != 1 {
		return nil, fmt.Errorf("want: job ID tenant=T [key=value...]")
	}
	w.seq++
	jw := makeJob(a.pos[0], a.str("tenant", "")).Submit(w.clock - model.Time(model.Hour) + model.Time(w.seq))
	j := jw.Obj()
	j.Kind = model.Kind(a.str("kind", string(kind)))
	var err error
	ints := []struct {
		key string
		v   *int
	}{
		{"replicas", &j.Replicas}, {"min", &j.MinReplicas}, {"gpus", &j.GPUsPerReplica},
		{"cpus", &j.CPUsPerReplica}, {"mem", &j.MemGiBPerReplica},
	}
	for _, f := range ints {
		if *f.v, err = a.int(f.key, *f.v); err != nil {
			return nil, err
		}
	}
	j.GPUModels = a.list("models", nil)
	j.Jurisdictions = a.list("jur", nil)
	j.DataClass = a.str("data", "")
	j.PriorityClass = a.str("class", "")
	if c := w.classByName(j.PriorityClass); c != nil {
		j.Preemptible = c.Preemptible
	}
	if j.Preemptible, err = a.bool("preemptible", j.Preemptible); err != nil {
		return nil, err
	}
	if j.ExclusiveNode, err = a.bool("exclusive", false); err != nil {
		return nil, err
	}
	if j.CheckpointGrace, err = a.dur("grace", 5*model.Minute); err != nil {
		return nil, err
	}
	if j.RuntimeLimit, err = a.dur("limit", 0); err != nil {
		return nil, err
	}
	for k, p := range map[string]*model.Time{"submit": &j.SubmitTime, "earliest": &j.EarliestStart, "deadline": &j.Deadline} {
		if *p, err = a.time(w, k, *p); err != nil {
			return nil, err
		}
	}
	if t := a.str("topology", ""); t != "" {
		level, mode, _ := strings.Cut(t, ":")
		l, ok := model.ParseLevel(level)
		if !ok || (mode != "" && mode != "required" && mode != "preferred") {
			return nil, fmt.Errorf("bad topology %q: want LEVEL[:required|:preferred]", t)
		}
		j.Topology = model.Topology{Level: l, Required: mode != "preferred"}
	}
	return j, nil
}

func (w *world) job(a *args) error {
	j, err := w.jobFrom(a, model.KindJob)
	if err != nil {
		return err
	}
	w.pending = append(w.pending, j)
	return nil
}

func (w *world) deployment(a *args) error {
	j, err := w.jobFrom(a, model.KindDeployment)
	if err != nil {
		return err
	}
	w.pending = append(w.pending, j)
	return nil
}

func (w *world) runningJob(a *args) error {
	ons := a.all("on")
	if len(ons) == 0 {
		return fmt.Errorf("running needs at least one on=NODE:GPUS")
	}
	var pls []model.Placement
	for _, on := range ons {
		pl, err := parsePlacement(on)
		if err != nil {
			return err
		}
		if w.node(pl.Node) == nil {
			return fmt.Errorf("unknown node %q", pl.Node)
		}
		pls = append(pls, pl)
	}
	if !a.has("replicas") {
		a.kv["replicas"] = []string{strconv.Itoa(len(pls))}
	}
	if !a.has("gpus") {
		a.kv["gpus"] = []string{strconv.Itoa(len(pls[0].GPUs))}
	}
	j, err := w.jobFrom(a, model.KindJob)
	if err != nil {
		return err
	}
	al := allocation(j, 0, pls...)
	if al.Started, err = a.time(w, "started", w.clock-model.Time(model.Hour)); err != nil {
		return err
	}
	if al.LastCheckpoint, err = a.time(w, "checkpoint", 0); err != nil {
		return err
	}
	if al.Terminating, err = a.bool("terminating", false); err != nil {
		return err
	}
	if al.EvictAt, err = a.time(w, "evict", 0); err != nil {
		return err
	}
	al.PreemptedFor = a.str("for", "")
	w.running = append(w.running, al)
	for _, pl := range pls {
		w.touch(pl, j.Tenant, false)
	}
	return nil
}

// touch records tenant as the last user of pl's GPUs.
func (w *world) touch(pl model.Placement, tenant string, dirty bool) {
	st, err := w.state(pl.Node)
	if err != nil {
		return
	}
	for _, g := range pl.GPUs {
		if g >= 0 && g < len(st.GPUs) {
			st.GPUs[g] = model.GPUState{LastTenant: tenant, Dirty: dirty, Down: st.GPUs[g].Down}
		}
	}
}

func (w *world) usageOf(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: usage TENANT gpu_hours=N [asof=T]")
	}
	h, err := a.float("gpu_hours", 0)
	if err != nil {
		return err
	}
	asof, err := a.time(w, "asof", w.clock)
	if err != nil {
		return err
	}
	w.usage = append(w.usage, model.Usage{Tenant: a.pos[0], GPUSeconds: h * 3600, AsOf: asof})
	return nil
}

func (w *world) gridOf(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: grid ZONE from=T prices=... carbons=...")
	}
	from, err := a.time(w, "from", w.clock)
	if err != nil {
		return err
	}
	prices, carbons := a.list("prices", nil), a.list("carbons", nil)
	if len(carbons) == 0 {
		carbons = make([]string, len(prices))
		for i := range carbons {
			carbons[i] = "0"
		}
	}
	if len(prices) != len(carbons) {
		return fmt.Errorf("%d prices but %d carbons", len(prices), len(carbons))
	}
	g := w.grid[a.pos[0]]
	if g == nil {
		g = &model.GridSeries{Zone: a.pos[0]}
		w.grid[a.pos[0]] = g
	}
	for i := range prices {
		p, err1 := strconv.ParseFloat(prices[i], 64)
		c, err2 := strconv.ParseFloat(carbons[i], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad hour %d: price %q carbon %q", i, prices[i], carbons[i])
		}
		g.Hours = append(g.Hours, model.GridHour{Start: from.Add(model.Duration(i) * model.Hour), PriceEURMWh: p, CarbonGkWh: c})
	}
	slices.SortStableFunc(g.Hours, func(x, y model.GridHour) int { return int(x.Start - y.Start) })
	return nil
}

func (w *world) preempted(a *args) error {
	for _, s := range a.list("at", nil) {
		t, err := parseTime(s, w.clock)
		if err != nil {
			return err
		}
		w.recent = append(w.recent, t)
	}
	return nil
}

func (w *world) seedOf(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: seed N")
	}
	n, err := strconv.ParseInt(a.pos[0], 10, 64)
	w.seed = n
	return err
}

func (w *world) now(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: now TIME")
	}
	t, err := parseTime(a.pos[0], w.clock)
	w.clock = t
	return err
}

func (w *world) advance(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: advance DURATION")
	}
	d, err := parseDur(a.pos[0])
	w.clock = w.clock.Add(d)
	return err
}

func (w *world) condition(c model.NodeCondition) func(*args) error {
	return func(a *args) error {
		if a.str("gpus", "") != "" {
			return w.gpusDown(a, c)
		}
		for _, n := range a.pos {
			names, err := expand(n)
			if err != nil {
				return err
			}
			for _, name := range names {
				st, err := w.state(name)
				if err != nil {
					return err
				}
				st.Condition = c
			}
		}
		return nil
	}
}

// gpusDown marks the gpus= of one node down (c = NodeDown) or up
// (NodeUp), as its agent reports them: "down NODE gpus=2,3".
func (w *world) gpusDown(a *args, c model.NodeCondition) error {
	if len(a.pos) != 1 || c != model.NodeDown && c != model.NodeUp {
		return fmt.Errorf("want: down NODE gpus=0-3 | up NODE gpus=0-3")
	}
	st, err := w.state(a.pos[0])
	if err != nil {
		return err
	}
	gpus, err := w.gpusOf(a, a.pos[0])
	if err != nil {
		return err
	}
	for _, g := range gpus {
		if g < 0 || g >= len(st.GPUs) {
			return fmt.Errorf("node %s has no GPU %d", a.pos[0], g)
		}
		st.GPUs[g].Down = c == model.NodeDown
	}
	return nil
}

// gpusOf returns the gpus= list or every GPU of node.
func (w *world) gpusOf(a *args, node string) ([]int, error) {
	if s := a.str("gpus", ""); s != "" {
		return parseGPUs(s)
	}
	return gpuRange(0, w.node(node).GPUs), nil
}

func (w *world) dirty(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: dirty NODE [gpus=0-3] tenant=T")
	}
	if _, err := w.state(a.pos[0]); err != nil {
		return err
	}
	gpus, err := w.gpusOf(a, a.pos[0])
	if err != nil {
		return err
	}
	w.touch(model.Placement{Node: a.pos[0], GPUs: gpus}, a.str("tenant", ""), true)
	return nil
}

func (w *world) scrub(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: scrub NODE [gpus=0-3]")
	}
	st, err := w.state(a.pos[0])
	if err != nil {
		return err
	}
	gpus, err := w.gpusOf(a, a.pos[0])
	if err != nil {
		return err
	}
	for _, g := range gpus {
		if g < len(st.GPUs) {
			st.GPUs[g].Dirty = false
		}
	}
	return nil
}
