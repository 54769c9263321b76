package facility

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Write writes f as a facility description that Load reads back to an
// equal model.Facility, for a facility that Load made. Consecutive nodes
// of a rack that differ only in their names share one node group, and
// runs of names are folded into ranges (gpu[01-18]).
//
// Other facilities (built in code) load back with these differences:
// hall and rack IDs come back qualified ("site/hall", "site/hall/rack")
// unless they already are; the GPU models of the built-in catalog are
// always there; nodes come back ordered by site, hall and rack; fields
// the loader defaults (a site's name, a tenant's weight 0, exclusivity
// "") come back with their defaults. Write fails when f cannot be
// written at all: a node, rack or hall whose parent is missing, a
// topology name with a brace, or a number that is not finite.
func Write(w io.Writer, f *model.Facility) error {
	bw, own := w.(*bufio.Writer)
	if !own {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	e := &emitter{w: bw}
	e.facility(f)
	if e.err != nil {
		return e.err
	}
	if !own {
		return bw.Flush()
	}
	_, err := bw.Write(nil) // a caller's bufio.Writer: report its error
	return err
}

// emitter writes YAML line by line. The first error stops the output.
type emitter struct {
	w   *bufio.Writer
	err error
}

func (e *emitter) line(indent int, text string) {
	if e.err != nil {
		return
	}
	for range indent {
		e.w.WriteByte(' ')
	}
	e.w.WriteString(text)
	if err := e.w.WriteByte('\n'); err != nil {
		e.err = err
	}
}

func (e *emitter) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("facility: write: "+format, args...)
	}
}

func (e *emitter) facility(f *model.Facility) {
	e.line(0, "name: "+str(f.Name))
	e.gpuModels(f.GPUModels)
	if len(f.DataClasses) > 0 {
		e.line(0, "data_classes:")
		for _, name := range slices.Sorted(maps.Keys(f.DataClasses)) {
			e.line(2, "- "+flow("name", str(name), "jurisdictions", strs(f.DataClasses[name])))
		}
	}
	e.equipment(f)
	if len(f.Cohorts) > 0 {
		e.line(0, "cohorts:")
		for _, c := range f.Cohorts {
			kv := []string{"name", str(c.Name)}
			if c.Parent != "" {
				kv = append(kv, "parent", str(c.Parent))
			}
			if c.FairShareWeight != 0 {
				kv = append(kv, "fair_share_weight", e.num(c.FairShareWeight))
			}
			e.line(2, "- "+flow(append(kv, quotaKV(c.Quota)...)...))
		}
	}
	if len(f.Tenants) > 0 {
		e.line(0, "tenants:")
		for _, t := range f.Tenants {
			e.line(2, "- "+e.tenant(t))
		}
	}
	if len(f.PriorityClasses) > 0 {
		e.line(0, "priority_classes:")
		for _, c := range f.PriorityClasses {
			e.line(2, "- "+flow("name", str(c.Name), "value", strconv.Itoa(c.Value), "preemptible", strconv.FormatBool(c.Preemptible)))
		}
	}
	e.policy(f.Policy)
}

// gpuModels writes the models that are not the catalog's as it is.
func (e *emitter) gpuModels(models map[string]model.GPUModel) {
	first := true
	for _, name := range slices.Sorted(maps.Keys(models)) {
		m := models[name]
		m.Name = name
		if c, ok := catalog[name]; ok && c == m {
			continue
		}
		if first {
			e.line(0, "gpu_models:")
			first = false
		}
		e.line(2, str(name)+": "+flow("vendor", str(m.Vendor), "memory_gib", strconv.Itoa(m.MemoryGiB),
			"tdp_watts", strconv.Itoa(m.TDPWatts), "idle_watts", strconv.Itoa(m.IdleWatts),
			"min_cap_watts", strconv.Itoa(m.MinCapWatts), "max_cap_watts", strconv.Itoa(m.MaxCapWatts),
			"bf16_tflops", e.num(m.BF16TFLOPS), "source", str(m.Source)))
	}
}

func (e *emitter) tenant(t model.Tenant) string {
	kv := []string{"name", str(t.Name)}
	if t.Cohort != "" {
		kv = append(kv, "cohort", str(t.Cohort))
	}
	if t.FairShareWeight != 1 && t.FairShareWeight != 0 {
		kv = append(kv, "fair_share_weight", e.num(t.FairShareWeight))
	}
	if len(t.Jurisdictions) > 0 {
		kv = append(kv, "jurisdictions", strs(t.Jurisdictions))
	}
	if len(t.PriorityClasses) > 0 {
		kv = append(kv, "priority_classes", strs(t.PriorityClasses))
	}
	if t.Exclusive != "" && t.Exclusive != model.ExclusiveGPU {
		kv = append(kv, "exclusive", str(string(t.Exclusive)))
	}
	return flow(append(kv, quotaKV(t.Quota)...)...)
}

// quotaKV is the quota field of a tenant or cohort, or nothing.
func quotaKV(q map[string]model.Quota) []string {
	if len(q) == 0 {
		return nil
	}
	var kv []string
	for _, m := range slices.Sorted(maps.Keys(q)) {
		x := q[m]
		fields := []string{"nominal", strconv.Itoa(x.Nominal)}
		if x.BorrowingLimit != nil {
			fields = append(fields, "borrowing_limit", strconv.Itoa(*x.BorrowingLimit))
		}
		if x.LendingLimit != nil {
			fields = append(fields, "lending_limit", strconv.Itoa(*x.LendingLimit))
		}
		kv = append(kv, str(m), flow(fields...))
	}
	return []string{"quota", flow(kv...)}
}

// policy writes every field, so the file shows the whole policy.
// Capping without power accounting and reclaim without preemption are
// written off, as Load would turn them off; reclaim_victims: any only
// where it changes reclaim, as Load refuses it elsewhere.
func (e *emitter) policy(p model.Policy) {
	e.line(0, "policy:")
	b := strconv.FormatBool
	e.line(2, "fair_share: "+b(p.FairShare))
	if p.FairShareHalfLife > 0 {
		e.line(2, "fair_share_half_life: "+p.FairShareHalfLife.String())
	}
	e.line(2, "quotas: "+b(p.Quotas))
	e.line(2, "preemption: "+b(p.Preemption))
	e.line(2, "reclaim: "+b(p.Reclaim && p.Preemption))
	limit := []string{"max", strconv.Itoa(p.PreemptionRateLimit)}
	if p.PreemptionWindow > 0 {
		limit = append(limit, "window", p.PreemptionWindow.String())
	}
	e.line(2, "preemption_rate_limit: "+flow(limit...))
	e.line(2, "victim_ratio: "+strconv.Itoa(p.VictimRatio))
	e.line(2, "reclaim_min_run: "+p.ReclaimMinRun.String())
	e.line(2, "backfill: "+b(p.Backfill))
	e.line(2, "backfill_depth: "+strconv.Itoa(p.BackfillDepth))
	if p.Backfill && p.NoReservation {
		e.line(2, "reservation: false")
	}
	if p.Order != "" {
		e.line(2, "order: "+string(p.Order))
	}
	e.line(2, "topology: "+b(p.Topology))
	e.line(2, "power: "+b(p.Power))
	e.line(2, "power_capping: "+b(p.PowerCapping && p.Power))
	if p.PowerShare {
		e.line(2, "power_share: true")
	}
	if p.Lends() {
		e.line(2, "power_recap: true")
	}
	e.line(2, "capped_speed_exponent: "+e.num(p.CappedSpeedExponent))
	e.line(2, "deferral: "+b(p.Deferral))
	if p.Deferral && p.NoDeferralBooking {
		e.line(2, "deferral_booking: false")
	}
	e.line(2, "carbon_weight: "+e.num(p.CarbonWeight))
	if p.Outside == model.OutsideRequeue {
		e.line(2, "outside_jurisdiction: requeue")
	}
	if p.BorrowPreemptibleOnly {
		e.line(2, "borrowing: preemptible")
	}
	if p.ReclaimAnySize && p.Reclaim && p.Preemption && p.Quotas {
		e.line(2, "reclaim_victims: any")
	}
}

// num formats x so that it parses back to the same float64.
func (e *emitter) num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		e.fail("%v is not a number a facility file can hold", x)
		return "0"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// flow renders key-value pairs as a YAML flow mapping; values are
// already YAML.
func flow(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(kv[i])
		b.WriteString(": ")
		b.WriteString(kv[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// strs renders a flow list of strings.
func strs(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = str(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

var plainRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/-]*$`)

// str renders s as a plain scalar where YAML reads that back as the same
// string, else double-quoted.
func str(s string) string {
	if plainRE.MatchString(s) {
		switch strings.ToLower(s) {
		case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "inf", "nan", "infinity":
		default:
			return s
		}
	}
	return strconv.Quote(s)
}

var errBraces = errors.New("has a brace, which a facility file reads as a {placeholder}")

// equipment writes the sites with their halls, racks and node groups.
func (e *emitter) equipment(f *model.Facility) {
	halls, racks, nodes := map[string][]*model.Hall{}, map[string][]*model.Rack{}, map[string][]*model.Node{}
	known := map[string]bool{}
	for i := range f.Sites {
		known[f.Sites[i].ID] = true
	}
	for i, h := range f.Halls {
		if !known[h.Site] {
			e.fail("hall %s: site %q is not in the facility", h.ID, h.Site)
		}
		halls[h.Site] = append(halls[h.Site], &f.Halls[i])
	}
	for i, r := range f.Racks {
		racks[r.Hall] = append(racks[r.Hall], &f.Racks[i])
	}
	for i, n := range f.Nodes {
		nodes[n.Rack] = append(nodes[n.Rack], &f.Nodes[i])
	}
	e.line(0, "sites:")
	for _, s := range f.Sites {
		e.site(s)
		for _, h := range halls[s.ID] {
			hid := strings.TrimPrefix(h.ID, s.ID+"/")
			e.hall(h, hid)
			for _, r := range racks[h.ID] {
				rid := strings.TrimPrefix(r.ID, h.ID+"/")
				e.rack(r, rid, h.Cooling)
				e.nodeGroups(nodes[r.ID], s.ID+"/"+hid, s.ID+"/"+hid+"/"+rid, r)
				delete(nodes, r.ID)
			}
			delete(racks, h.ID)
		}
	}
	for _, rs := range racks {
		e.fail("rack %s: hall %q is not in the facility", rs[0].ID, rs[0].Hall)
	}
	for _, ns := range nodes {
		e.fail("node %s: rack %q is not in the facility", ns[0].Name, ns[0].Rack)
	}
}

func (e *emitter) site(s model.Site) {
	e.line(2, "- id: "+str(s.ID))
	if s.Name != "" {
		e.line(4, "name: "+str(s.Name))
	}
	e.line(4, "country: "+str(s.Country))
	e.line(4, "operator: "+str(s.Operator))
	if len(s.Jurisdictions) > 0 {
		e.line(4, "jurisdictions: "+strs(s.Jurisdictions))
	}
	e.line(4, "power_envelope_kw: "+e.num(s.PowerEnvelopeKW))
	e.line(4, "pue: "+e.num(s.PUE))
	if s.GridZone != "" {
		e.line(4, "grid_zone: "+str(s.GridZone))
	}
	e.line(4, "halls:")
}

func (e *emitter) hall(h *model.Hall, id string) {
	e.line(6, "- id: "+str(id))
	if h.PowerCapKW != 0 {
		e.line(8, "power_cap_kw: "+e.num(h.PowerCapKW))
	}
	if h.Cooling != "" {
		e.line(8, "cooling: "+str(string(h.Cooling)))
	}
	if h.CoolingCapacityKW != 0 {
		e.line(8, "cooling_capacity_kw: "+e.num(h.CoolingCapacityKW))
	}
	e.line(8, "racks:")
}

func (e *emitter) rack(r *model.Rack, id string, hallCooling model.Cooling) {
	if strings.ContainsAny(id, "[]{}") {
		e.fail("rack %s: the id has a bracket or brace, which a facility file reads as a range or placeholder", r.ID)
	}
	e.line(10, "- id: "+str(id))
	if r.PowerCapKW != 0 {
		e.line(12, "power_cap_kw: "+e.num(r.PowerCapKW))
	}
	if r.Cooling != "" && r.Cooling != hallCooling {
		e.line(12, "cooling: "+str(string(r.Cooling)))
	}
	if r.CoolingCapacityKW != 0 {
		e.line(12, "cooling_capacity_kw: "+e.num(r.CoolingCapacityKW))
	}
	e.line(12, "nodes:")
}

// groupKey is what the nodes of one node group share; an empty topology
// name stands for the loader's default.
type groupKey struct {
	gpuModel         string
	gpus, cpus, mem  int
	baseWatts        float64
	nvl, leaf, spine string
}

// nodeGroups writes the nodes of one rack, consecutive nodes alike but
// for their names as one group. spine and leaf are the loader's default
// spine and leaf of the rack.
func (e *emitter) nodeGroups(nodes []*model.Node, spine, leaf string, r *model.Rack) {
	keyOf := func(n *model.Node) groupKey {
		if n.Hall != r.Hall {
			e.fail("node %s: in rack %s of hall %s, but its hall is %q", n.Name, r.ID, r.Hall, n.Hall)
		}
		k := groupKey{n.GPUModel, n.GPUs, n.CPUs, n.MemoryGiB, n.BaseWatts, n.NVLinkDomain, n.Leaf, n.Spine}
		if k.nvl == n.Name {
			k.nvl = ""
		}
		if k.leaf == leaf {
			k.leaf = ""
		}
		if k.spine == spine {
			k.spine = ""
		}
		return k
	}
	for i := 0; i < len(nodes); {
		k := keyOf(nodes[i])
		names := []string{nodes[i].Name}
		j := i + 1
		for ; j < len(nodes) && keyOf(nodes[j]) == k; j++ {
			names = append(names, nodes[j].Name)
		}
		e.group(k, names)
		i = j
	}
}

func (e *emitter) group(k groupKey, names []string) {
	for _, n := range names {
		if strings.ContainsAny(n, "[]{}") {
			e.fail("node %q: the name has a bracket or brace, which a facility file reads as a range or placeholder", n)
		}
	}
	patterns := foldNames(names)
	kv := []string{"names", strs(patterns)}
	if len(patterns) == 1 {
		kv[1] = str(patterns[0])
	}
	if k.gpuModel != "" || k.gpus != 0 {
		kv = append(kv, "gpu_model", str(k.gpuModel), "gpus", strconv.Itoa(k.gpus))
	}
	kv = append(kv, "cpus", strconv.Itoa(k.cpus), "memory_gib", strconv.Itoa(k.mem), "base_watts", e.num(k.baseWatts))
	for _, t := range []struct{ key, name string }{{"nvlink_domain", k.nvl}, {"leaf", k.leaf}, {"spine", k.spine}} {
		if t.name == "" {
			continue
		}
		if strings.ContainsAny(t.name, "{}") {
			e.fail("%s %q of node %s %w", t.key, t.name, names[0], errBraces)
		}
		kv = append(kv, t.key, str(t.name))
	}
	e.line(14, "- "+flow(kv...))
}

// foldNames turns runs of names that count up in a numeric suffix into
// ranges: n01 n02 n03 → n[01-03]. A range expands as expandPattern does
// (the lower bound's leading zero sets the width), so each name of a run
// is checked against that expansion.
func foldNames(names []string) []string {
	var out []string
	for i := 0; i < len(names); {
		prefix, digits := splitDigits(names[i])
		j := i + 1
		if digits != "" {
			lo, _ := strconv.Atoi(digits)
			width := 0
			if len(digits) > 1 && digits[0] == '0' {
				width = len(digits)
			}
			for j < len(names) && j-i < maxExpand && lo+j-i <= 999_999_999 && names[j] == fmt.Sprintf("%s%0*d", prefix, width, lo+j-i) {
				j++
			}
		}
		if j-i == 1 {
			out = append(out, names[i])
		} else {
			_, hi := splitDigits(names[j-1])
			out = append(out, prefix+"["+digits+"-"+hi+"]")
		}
		i = j
	}
	return out
}

// splitDigits splits the trailing digits off a name; digits is empty
// when there are none or too many for a range bound.
func splitDigits(name string) (prefix, digits string) {
	k := len(name)
	for k > 0 && name[k-1] >= '0' && name[k-1] <= '9' {
		k--
	}
	if len(name)-k > 9 {
		return name, ""
	}
	return name[:k], name[k:]
}
