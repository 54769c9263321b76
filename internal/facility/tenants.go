package facility

import (
	"errors"
	"math"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

type gpuModelSpec struct {
	at   *object
	name string
	line int
}

type tenantSpec struct {
	at      *object
	tenant  model.Tenant
	quotaAt map[string]*object // by model, for line numbers
}

type cohortSpec struct {
	at      *object
	cohort  model.Cohort
	quotaAt map[string]*object
}

type classSpec struct {
	at    *object
	class model.PriorityClass
}

// DefaultClasses are the priority classes of a facility whose file has
// no priority_classes section: critical, high, normal and low.
func DefaultClasses() []model.PriorityClass { return defaultClasses() }

// defaultClasses are the priority classes of a facility whose file has
// no priority_classes section.
func defaultClasses() []model.PriorityClass {
	return []model.PriorityClass{
		{Name: "critical", Value: 1000, Preemptible: false},
		{Name: "high", Value: 100, Preemptible: false},
		{Name: "normal", Value: 0, Preemptible: true},
		{Name: "low", Value: -100, Preemptible: true},
	}
}

var gpuModelFields = []string{"vendor", "memory_gib", "tdp_watts", "idle_watts", "min_cap_watts", "max_cap_watts", "bf16_tflops", "source"}

func (d *decoder) gpuModels(root *object) []*gpuModelSpec {
	e := root.entries("gpu_models")
	if e == nil {
		return nil
	}
	var out []*gpuModelSpec
	for _, name := range e.keys {
		f := e.byKey[name]
		o := d.object(f.value, f.line, e.sub(name), gpuModelFields...)
		if !validIdent(name) {
			d.errf(f.line, e.sub(name), "%q is not a valid GPU model name; %s", name, identHint)
			continue
		}
		if o != nil {
			out = append(out, &gpuModelSpec{at: o, name: name, line: f.line})
		}
	}
	return out
}

// applyGPUModel overrides fields of base (zero for a new model) with what
// the file sets, and checks the result.
func (d *decoder) applyGPUModel(s *gpuModelSpec, base model.GPUModel, builtin bool) model.GPUModel {
	o := s.at
	m := base
	m.Name = s.name
	var set []string
	if !builtin {
		for _, k := range []string{"vendor", "memory_gib", "tdp_watts", "idle_watts", "bf16_tflops"} {
			if !o.has(k) {
				o.missing(k, s.name+" is not in the built-in catalog ("+knownModels(catalog)+"), so a new model needs vendor, memory_gib, tdp_watts, idle_watts and bf16_tflops")
			}
		}
	}
	if v, ok := o.str("vendor"); ok {
		m.Vendor, set = v, append(set, "vendor")
	}
	ints := []struct {
		key string
		dst *int
	}{{"memory_gib", &m.MemoryGiB}, {"tdp_watts", &m.TDPWatts}, {"idle_watts", &m.IdleWatts}, {"min_cap_watts", &m.MinCapWatts}, {"max_cap_watts", &m.MaxCapWatts}}
	for _, f := range ints {
		if v, ok := o.integer(f.key, 0, 1<<20); ok {
			*f.dst, set = v, append(set, f.key)
		}
	}
	if v, ok := o.number("bf16_tflops", 0, 1e7); ok {
		m.BF16TFLOPS, set = v, append(set, "bf16_tflops")
	}
	src, hasSrc := o.str("source")
	switch {
	case hasSrc:
		m.Source = src
	case builtin && len(set) > 0:
		m.Source = base.Source + "; overridden in " + d.file + ": " + strings.Join(set, ", ")
	case !builtin:
		m.Source = "defined in " + d.file
	}
	if m.TDPWatts == 0 && (builtin || o.has("tdp_watts")) {
		o.errf("tdp_watts", "must be > 0: the board power at the default limit, in W")
	}
	if m.IdleWatts > m.TDPWatts {
		o.errf("idle_watts", "idle draw %d W is above TDP %d W", m.IdleWatts, m.TDPWatts)
	}
	if m.MinCapWatts > 0 && m.MinCapWatts < m.IdleWatts {
		o.errf("min_cap_watts", "min cap %d W is below the idle draw %d W: a capped busy GPU cannot draw less than an idle one; set min_cap_watts >= idle_watts (0 turns capping off)", m.MinCapWatts, m.IdleWatts)
	}
	if m.MinCapWatts > 0 && m.MaxCapWatts < m.MinCapWatts {
		o.errf("max_cap_watts", "max cap %d W is below min cap %d W; set max_cap_watts >= min_cap_watts (min 0 turns capping off)", m.MaxCapWatts, m.MinCapWatts)
	}
	return m
}

func knownModels(m map[string]model.GPUModel) string {
	return sortedKeys(m)
}

// quota reads a quota mapping: {MODEL: {nominal, borrowing_limit, lending_limit}}.
func (d *decoder) quota(o *object, key string) (map[string]model.Quota, map[string]*object) {
	e := o.entries(key)
	if e == nil {
		return nil, nil
	}
	q := map[string]model.Quota{}
	at := map[string]*object{}
	for _, name := range e.keys {
		f := e.byKey[name]
		qo := d.object(f.value, f.line, e.sub(name), "nominal", "borrowing_limit", "lending_limit")
		if qo == nil {
			continue
		}
		var x model.Quota
		if qo.has("nominal") {
			x.Nominal, _ = qo.integer("nominal", 0, math.MaxInt32)
		} else {
			qo.missing("nominal", "set the GPUs of "+name+" guaranteed, e.g. nominal: 64")
		}
		if v, ok := qo.integer("borrowing_limit", 0, math.MaxInt32); ok {
			x.BorrowingLimit = &v
		}
		if v, ok := qo.integer("lending_limit", 0, math.MaxInt32); ok {
			x.LendingLimit = &v
			if v > x.Nominal {
				qo.errf("lending_limit", "%d is above nominal %d; one cannot lend more than one's nominal quota", v, x.Nominal)
			}
		}
		q[name], at[name] = x, qo
	}
	return q, at
}

func (d *decoder) tenants(root *object) []*tenantSpec {
	var out []*tenantSpec
	for _, it := range root.list("tenants", false) {
		o := d.object(it.node, it.line, it.path, "name", "cohort", "quota", "fair_share_weight", "jurisdictions", "priority_classes", "exclusive")
		if o == nil {
			continue
		}
		t := &tenantSpec{at: o}
		t.tenant.Name = o.ident("name", "name the tenant, e.g. acme")
		t.tenant.Cohort, _ = o.str("cohort")
		t.tenant.Quota, t.quotaAt = d.quota(o, "quota")
		t.tenant.FairShareWeight = 1
		if w, ok := o.number("fair_share_weight", math.Inf(-1), math.Inf(1)); ok {
			if w <= 0 || w > 1e6 {
				o.errf("fair_share_weight", "%g must be > 0 (1 is an equal share; at most 1e6)", w)
			} else {
				t.tenant.FairShareWeight = w
			}
		}
		t.tenant.Jurisdictions, _ = o.tags("jurisdictions")
		t.tenant.PriorityClasses = o.set("priority_classes", "priority class")
		t.tenant.Exclusive = model.ExclusiveGPU
		if s, ok := o.str("exclusive"); ok {
			switch x := model.Exclusivity(s); x {
			case model.ExclusiveGPU, model.ExclusiveNode:
				t.tenant.Exclusive = x
			default:
				o.errf("exclusive", "%q is not a tenancy mode; use gpu (share nodes, never GPUs) or node (whole nodes only)", s)
			}
		}
		out = append(out, t)
	}
	return out
}

func (d *decoder) cohorts(root *object) []*cohortSpec {
	var out []*cohortSpec
	for _, it := range root.list("cohorts", false) {
		o := d.object(it.node, it.line, it.path, "name", "parent", "quota", "fair_share_weight")
		if o == nil {
			continue
		}
		c := &cohortSpec{at: o}
		c.cohort.Name = o.ident("name", "name the cohort, e.g. research")
		c.cohort.Parent, _ = o.str("parent")
		if w, ok := o.number("fair_share_weight", math.Inf(-1), math.Inf(1)); ok {
			if w <= 0 || w > 1e6 {
				o.errf("fair_share_weight", "%g must be > 0 (at most 1e6); leave it out to weigh the cohort by its tenants' weights", w)
			} else {
				c.cohort.FairShareWeight = w
			}
		}
		c.cohort.Quota, c.quotaAt = d.quota(o, "quota")
		out = append(out, c)
	}
	return out
}

func (d *decoder) classes(root *object) []*classSpec {
	if !root.has("priority_classes") {
		return nil
	}
	out := []*classSpec{}
	items := root.list("priority_classes", false)
	if len(items) == 0 {
		root.errf("priority_classes", "must not be empty; leave the section out to get the defaults (critical, high, normal, low)")
	}
	for _, it := range items {
		o := d.object(it.node, it.line, it.path, "name", "value", "preemptible")
		if o == nil {
			continue
		}
		c := &classSpec{at: o}
		c.class.Name = o.ident("name", "name the class, e.g. high")
		if o.has("value") {
			c.class.Value, _ = o.integer("value", -1_000_000, 1_000_000)
		} else {
			o.missing("value", "set the class's priority, higher wins, e.g. value: 100")
		}
		c.class.Preemptible = true
		if b, ok := o.boolean("preemptible"); ok {
			c.class.Preemptible = b
		}
		out = append(out, c)
	}
	return out
}

// dataClasses reads the data classifications: a name and the
// jurisdiction tags a site must carry (one of them) to hold such data.
func (d *decoder) dataClasses(root *object) []*dataClassSpec {
	var out []*dataClassSpec
	for _, it := range root.list("data_classes", false) {
		o := d.object(it.node, it.line, it.path, "name", "jurisdictions")
		if o == nil {
			continue
		}
		c := &dataClassSpec{at: o}
		c.name = o.ident("name", "name the classification, e.g. personal")
		tags, present := o.tags("jurisdictions")
		if !present {
			o.missing("jurisdictions", "list the jurisdiction tags such data may live in, e.g. jurisdictions: [EU]")
		}
		c.tags = tags
		out = append(out, c)
	}
	return out
}

var policyFields = []string{"order", "reservation", "power_share", "power_recap", "fair_share", "fair_share_half_life", "quotas", "preemption", "reclaim", "preemption_rate_limit",
	"victim_ratio", "reclaim_min_run",
	"backfill", "backfill_depth", "topology", "power", "power_capping", "capped_speed_exponent", "deferral", "deferral_booking", "carbon_weight", "sovereignty",
	"outside_jurisdiction", "borrowing", "reclaim_victims"}

// policyOf starts from model.DefaultPolicy and applies what the file sets.
func (d *decoder) policyOf(root *object) (model.Policy, *object) {
	p := model.DefaultPolicy()
	o := root.child("policy", policyFields...)
	if o == nil {
		return p, nil
	}
	return applyPolicy(p, o), o
}

// applyPolicy applies the settings of a policy mapping to p.
func applyPolicy(p model.Policy, o *object) model.Policy {
	bools := []struct {
		key string
		dst *bool
	}{{"fair_share", &p.FairShare}, {"quotas", &p.Quotas}, {"preemption", &p.Preemption}, {"reclaim", &p.Reclaim},
		{"backfill", &p.Backfill}, {"topology", &p.Topology}, {"power", &p.Power}, {"power_capping", &p.PowerCapping}, {"deferral", &p.Deferral},
		{"power_share", &p.PowerShare}, {"power_recap", &p.PowerRecap}}
	for _, b := range bools {
		if v, ok := o.boolean(b.key); ok {
			*b.dst = v
		}
	}
	if v, ok := o.boolean("sovereignty"); ok && !v {
		o.errf("sovereignty", "sovereignty cannot be turned off: jobs never run outside their allowed jurisdictions; remove the field")
	}
	if p.PowerShare && (!p.PowerCapping || !p.Power) {
		o.errf("power_share", "power_share caps GPUs to their share of the envelope; it needs power: true and power_capping: true")
		p.PowerShare = false
	}
	if p.PowerRecap && (!p.PowerCapping || !p.Power) {
		if o.has("power_recap") {
			o.errf("power_recap", "power_recap raises the caps of running capped jobs; it needs power: true and power_capping: true")
		}
		p.PowerRecap = false
	}
	if !p.Power && p.PowerCapping {
		if o.has("power_capping") {
			o.errf("power_capping", "power capping needs power accounting; set power: true or power_capping: false")
		}
		p.PowerCapping = false
	}
	if !p.Preemption && p.Reclaim {
		if o.has("reclaim") {
			o.errf("reclaim", "reclaim works by preemption; set preemption: true or reclaim: false")
		}
		p.Reclaim = false
	}
	if v, ok := o.duration("fair_share_half_life"); ok {
		p.FairShareHalfLife = v
	}
	if r := o.child("preemption_rate_limit", "max", "window"); r != nil {
		if v, ok := r.integer("max", 0, 1_000_000); ok {
			p.PreemptionRateLimit = v
		} else if !r.has("max") {
			r.missing("max", "set the most victims per window, e.g. max: 10 (0 = unlimited)")
		}
		if v, ok := r.duration("window"); ok {
			p.PreemptionWindow = v
		}
	}
	if v, ok := o.integer("victim_ratio", 0, 1_000_000); ok {
		p.VictimRatio = v
	}
	if v, ok := o.durationOrZero("reclaim_min_run"); ok {
		p.ReclaimMinRun = v
	}
	if v, ok := o.integer("backfill_depth", 0, 1_000_000); ok {
		p.BackfillDepth = v
	}
	if v, ok := o.boolean("deferral_booking"); ok {
		p.NoDeferralBooking = !v
		if !p.Deferral && !v {
			o.errf("deferral_booking", "deferral_booking: false only changes deferral; set deferral: true or remove the field")
		}
	}
	if v, ok := o.boolean("reservation"); ok {
		p.NoReservation = !v
		if !p.Backfill && !v {
			o.errf("reservation", "reservation: false only changes backfill; set backfill: true or remove the field")
		}
	}
	if v, ok := o.str("order"); ok {
		switch model.QueueOrder(v) {
		case model.OrderFIFO, model.OrderShortestFirst:
			p.Order = model.QueueOrder(v)
		default:
			o.errf("order", "unknown order %q; use fifo or shortest-first", v)
		}
	}
	if v, ok := o.number("carbon_weight", 0, 1); ok {
		p.CarbonWeight = v
	}
	if v, ok := o.number("capped_speed_exponent", 0, model.MaxCappedSpeedExponent); ok {
		p.CappedSpeedExponent = v
	}
	if v, ok := o.str("borrowing"); ok {
		switch v {
		case "any":
			p.BorrowPreemptibleOnly = false
		case "preemptible":
			p.BorrowPreemptibleOnly = true
		default:
			o.errf("borrowing", "unknown value %q; use any (every job may borrow beyond its tenant's nominal quota) or preemptible (only jobs reclaim may take back)", v)
		}
	}
	if v, ok := o.str("reclaim_victims"); ok {
		switch v {
		case "proportionate":
			p.ReclaimAnySize = false
		case "any":
			p.ReclaimAnySize = true
			switch {
			case !p.Preemption: // which turned reclaim off, or refused it
				o.errf("reclaim_victims", "reclaim_victims: any only changes reclaim, which works by preemption; set preemption: true or remove the field")
			case !p.Reclaim:
				o.errf("reclaim_victims", "reclaim_victims: any only changes reclaim; set reclaim: true or remove the field")
			case !p.Quotas:
				o.errf("reclaim_victims", "reclaim_victims: any only changes reclaim, which takes back nominal quota; set quotas: true or remove the field")
			}
		default:
			o.errf("reclaim_victims", "unknown value %q; use proportionate (victim_ratio bounds reclaim's victims too) or any (a tenant within its nominal quota takes it back from borrowers of any size)", v)
		}
	}
	if v, ok := o.str("outside_jurisdiction"); ok {
		switch model.OutsideAction(v) {
		case model.OutsideFlag:
			p.Outside = ""
		case model.OutsideRequeue:
			p.Outside = model.OutsideRequeue
		default:
			o.errf("outside_jurisdiction", "unknown action %q; use flag (record it, let it run) or requeue (stop it and queue it again)", v)
		}
	}
	return p
}

// duration reads a duration such as "7d", "168h" or "30m" (the job-spec
// syntax, model.ParseDuration) of at least 1s.
func (o *object) duration(key string) (model.Duration, bool) {
	return o.durationFrom(key, 1, "is not a duration of at least 1s; write e.g. 7d, 168h, 90m or 30s")
}

// durationOrZero is duration that also takes 0 (written "0" or "0s"),
// for a setting that 0 turns off.
func (o *object) durationOrZero(key string) (model.Duration, bool) {
	return o.durationFrom(key, 0, "is not a duration; write e.g. 30m, 2h or 1d, or 0 to turn it off")
}

// durationFrom reads a duration of at least least, or reports the value
// and why with the key.
func (o *object) durationFrom(key string, least model.Duration, why string) (model.Duration, bool) {
	s, ok := o.str(key)
	if !ok {
		return 0, false
	}
	d, err := model.ParseDuration(s, 100*365*model.Day)
	var tooLong *model.DurationRangeError
	if errors.As(err, &tooLong) {
		o.errf(key, "%v", err) // "must be from 0 to 100 years (36500d); got …"
		return 0, false
	}
	if err != nil || d < least {
		o.errf(key, "%q %s", s, why)
		return 0, false
	}
	return d, true
}
