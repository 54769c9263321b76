package sched_test

import (
	"fmt"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Facility directives of the scenario DSL: site, hall, rack, nodes,
// model, tenant, cohort, class, policy. See scenario_dsl_test.go.

func (w *world) site(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: site ID [key=value...]")
	}
	env, err := a.float("envelope_kw", 0)
	if err != nil {
		return err
	}
	pue, err := a.float("pue", 1.2)
	if err != nil {
		return err
	}
	id := a.pos[0]
	w.fac.Sites = append(w.fac.Sites, model.Site{
		ID: id, Name: id, Country: a.str("country", ""), Operator: a.str("operator", "carnot"),
		Jurisdictions: a.list("jur", nil), PowerEnvelopeKW: env, PUE: pue, GridZone: a.str("zone", ""),
	})
	return nil
}

func (w *world) hall(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: hall ID site=S [cap_kw=N]")
	}
	capKW, err := a.float("cap_kw", 0)
	if err != nil {
		return err
	}
	h := model.Hall{ID: a.pos[0], Site: a.str("site", ""), PowerCapKW: capKW,
		Cooling: model.Cooling(a.str("cooling", string(model.CoolingLiquid)))}
	for i := range w.fac.Halls {
		if w.fac.Halls[i].ID == h.ID {
			w.fac.Halls[i] = h
			return nil
		}
	}
	w.fac.Halls = append(w.fac.Halls, h)
	return nil
}

func (w *world) rack(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: rack ID hall=H [cap_kw=N]")
	}
	capKW, err := a.float("cap_kw", 0)
	if err != nil {
		return err
	}
	r := model.Rack{ID: a.pos[0], Hall: a.str("hall", ""), PowerCapKW: capKW,
		Cooling: model.Cooling(a.str("cooling", string(model.CoolingLiquid)))}
	for i := range w.fac.Racks {
		if w.fac.Racks[i].ID == r.ID {
			w.fac.Racks[i] = r
			return nil
		}
	}
	w.fac.Racks = append(w.fac.Racks, r)
	return nil
}

func (w *world) nodes(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: nodes NAME[1-4] site=S [key=value...]")
	}
	names, err := expand(a.pos[0])
	if err != nil {
		return err
	}
	site := a.str("site", "")
	if w.siteByID(site) == nil {
		return fmt.Errorf("unknown site %q (declare it first)", site)
	}
	proto := makeNode("", site).Obj()
	hall, rack := a.str("hall", proto.Hall), a.str("rack", "")
	if rack == "" {
		rack = hall + "-r1"
		if hall == proto.Hall {
			rack = proto.Rack
		}
	}
	gpus, err := a.int("gpus", 8)
	if err != nil {
		return err
	}
	cpus, err := a.int("cpus", proto.CPUs)
	if err != nil {
		return err
	}
	mem, err := a.int("mem", proto.MemoryGiB)
	if err != nil {
		return err
	}
	base, err := a.float("base_w", proto.BaseWatts)
	if err != nil {
		return err
	}
	gm := a.str("model", "H100")
	if _, ok := w.fac.GPUModels[gm]; !ok {
		return fmt.Errorf("unknown GPU model %q", gm)
	}
	nvlink, leaf, spine := a.str("nvlink", ""), a.str("leaf", proto.Leaf), a.str("spine", proto.Spine)
	w.ensureHallRack(site, hall, rack)
	for _, n := range names {
		nw := makeNode(n, site).Model(gm, gpus).Place(hall, rack).Size(cpus, mem, base)
		if nvlink != "" {
			nw.Fabric(nvlink, leaf)
		} else {
			nw.Fabric(n, leaf)
		}
		nw.Spine = spine
		w.fac.Nodes = append(w.fac.Nodes, nw.Obj())
	}
	return nil
}

// ensureHallRack declares hall and rack with no cap unless a hall or
// rack directive already did.
func (w *world) ensureHallRack(site, hall, rack string) {
	found := false
	for _, h := range w.fac.Halls {
		found = found || h.ID == hall
	}
	if !found {
		w.fac.Halls = append(w.fac.Halls, model.Hall{ID: hall, Site: site, Cooling: model.CoolingLiquid})
	}
	found = false
	for _, r := range w.fac.Racks {
		found = found || r.ID == rack
	}
	if !found {
		w.fac.Racks = append(w.fac.Racks, model.Rack{ID: rack, Hall: hall, Cooling: model.CoolingLiquid})
	}
}

func (w *world) gpuModel(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: model NAME tdp=W idle=W min=W max=W")
	}
	m := model.GPUModel{Name: a.pos[0], Vendor: "nvidia", Source: "scenario"}
	for k, p := range map[string]*int{"tdp": &m.TDPWatts, "idle": &m.IdleWatts, "min": &m.MinCapWatts, "max": &m.MaxCapWatts, "mem": &m.MemoryGiB} {
		v, err := a.int(k, 0)
		if err != nil {
			return err
		}
		*p = v
	}
	w.fac.GPUModels[m.Name] = m
	return nil
}

// quotas parses quota=, borrow= and lend= into a per-model map.
func quotas(a *args) (map[string]model.Quota, error) {
	nominal, err := parseModelInts(a.str("quota", ""), nil)
	if err != nil {
		return nil, err
	}
	ms := make([]string, 0, len(nominal))
	for m := range nominal {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	borrow, err := parseModelInts(a.str("borrow", ""), ms)
	if err != nil {
		return nil, err
	}
	lend, err := parseModelInts(a.str("lend", ""), ms)
	if err != nil {
		return nil, err
	}
	if len(nominal) == 0 {
		return nil, nil
	}
	out := make(map[string]model.Quota, len(nominal))
	for _, m := range ms {
		b, l := -1, -1
		if v, ok := borrow[m]; ok {
			b = v
		}
		if v, ok := lend[m]; ok {
			l = v
		}
		out[m] = quota(nominal[m], b, l)
	}
	return out, nil
}

func (w *world) tenant(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: tenant NAME [key=value...]")
	}
	q, err := quotas(a)
	if err != nil {
		return err
	}
	weight, err := a.float("weight", 1)
	if err != nil {
		return err
	}
	w.fac.Tenants = append(w.fac.Tenants, model.Tenant{
		Name: a.pos[0], Cohort: a.str("cohort", ""), Quota: q, FairShareWeight: weight,
		Jurisdictions: a.list("jur", nil), PriorityClasses: a.list("classes", nil),
		Exclusive: model.Exclusivity(a.str("exclusive", string(model.ExclusiveGPU))),
	})
	return nil
}

func (w *world) cohort(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: cohort NAME [parent=P] [quota=...] [weight=W]")
	}
	q, err := quotas(a)
	if err != nil {
		return err
	}
	weight, err := a.float("weight", 0)
	if err != nil {
		return err
	}
	w.fac.Cohorts = append(w.fac.Cohorts, model.Cohort{Name: a.pos[0], Parent: a.str("parent", ""), Quota: q, FairShareWeight: weight})
	return nil
}

func (w *world) class(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: class NAME value=N preemptible=yes|no")
	}
	v, err := a.int("value", 0)
	if err != nil {
		return err
	}
	pre, err := a.bool("preemptible", false)
	if err != nil {
		return err
	}
	w.fac.PriorityClasses = append(w.fac.PriorityClasses, model.PriorityClass{Name: a.pos[0], Value: v, Preemptible: pre})
	return nil
}

// policy sets policy switches; all=off first turns every switch off.
func (w *world) policy(a *args) error {
	p := &w.fac.Policy
	if all, err := a.bool("all", true); err != nil {
		return err
	} else if !all {
		d := model.DefaultPolicy() // its tunings; the switches are off
		*p = model.Policy{PreemptionWindow: d.PreemptionWindow, FairShareHalfLife: d.FairShareHalfLife, BackfillDepth: d.BackfillDepth,
			VictimRatio: d.VictimRatio, ReclaimMinRun: d.ReclaimMinRun, CappedSpeedExponent: d.CappedSpeedExponent, Sovereignty: true}
	}
	bools := []struct {
		key string
		v   *bool
	}{
		{"fairshare", &p.FairShare}, {"quotas", &p.Quotas}, {"preemption", &p.Preemption}, {"reclaim", &p.Reclaim},
		{"backfill", &p.Backfill}, {"topology", &p.Topology}, {"power", &p.Power}, {"capping", &p.PowerCapping},
		{"deferral", &p.Deferral}, {"sovereignty", &p.Sovereignty}, {"share", &p.PowerShare},
		{"recap", &p.PowerRecap}, {"borrowpreemptible", &p.BorrowPreemptibleOnly},
		{"reclaimanysize", &p.ReclaimAnySize},
	}
	var err error
	for _, b := range bools {
		if *b.v, err = a.bool(b.key, *b.v); err != nil {
			return err
		}
	}
	if p.FairShareHalfLife, err = a.dur("halflife", p.FairShareHalfLife); err != nil {
		return err
	}
	if p.PreemptionWindow, err = a.dur("window", p.PreemptionWindow); err != nil {
		return err
	}
	if p.PreemptionRateLimit, err = a.int("rate", p.PreemptionRateLimit); err != nil {
		return err
	}
	if p.BackfillDepth, err = a.int("depth", p.BackfillDepth); err != nil {
		return err
	}
	if p.VictimRatio, err = a.int("victimratio", p.VictimRatio); err != nil {
		return err
	}
	if p.ReclaimMinRun, err = a.dur("reclaimminrun", p.ReclaimMinRun); err != nil {
		return err
	}
	reserve := true
	if reserve, err = a.bool("reservation", !p.NoReservation); err != nil {
		return err
	}
	p.NoReservation = !reserve
	book := true
	if book, err = a.bool("booking", !p.NoDeferralBooking); err != nil {
		return err
	}
	p.NoDeferralBooking = !book
	switch o := model.QueueOrder(a.str("order", string(p.Order))); o {
	case "", model.OrderFIFO, model.OrderShortestFirst:
		p.Order = o
	default:
		return fmt.Errorf("order=%s: want fifo or shortest-first", o)
	}
	if p.CappedSpeedExponent, err = a.float("cappedexp", p.CappedSpeedExponent); err != nil {
		return err
	}
	p.CarbonWeight, err = a.float("carbon", p.CarbonWeight)
	return err
}

func (w *world) siteByID(id string) *model.Site {
	for i := range w.fac.Sites {
		if w.fac.Sites[i].ID == id {
			return &w.fac.Sites[i]
		}
	}
	return nil
}

func (w *world) dataClass(a *args) error {
	if len(a.pos) != 1 || a.str("jur", "") == "" {
		return fmt.Errorf("want: dataclass NAME jur=TAG[,TAG]")
	}
	if w.fac.DataClasses == nil {
		w.fac.DataClasses = map[string][]string{}
	}
	w.fac.DataClasses[a.pos[0]] = strings.Split(a.str("jur", ""), ",")
	return nil
}
