package facility

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// base is a small valid facility; the cases below edit it. Keep its line
// numbers in mind: the wanted errors name them.
const base = `name: t
sites:
  - id: s1
    country: FR
    operator: Op SAS
    power_envelope_kw: 100
    pue: 1.2
    halls:
      - id: h1
        racks:
          - id: r1
            power_cap_kw: 50
            nodes:
              - names: n[1-4]
                gpu_model: H100
                gpus: 8
                cpus: 64
                memory_gib: 512
                base_watts: 1000
cohorts:
  - name: c1
tenants:
  - name: t1
    cohort: c1
    quota:
      H100: {nominal: 16}
`

// edit returns base with old replaced by new (old must occur once).
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := base
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(s, pairs[i]) != 1 {
			t.Fatalf("edit: %q occurs %d times in base", pairs[i], strings.Count(s, pairs[i]))
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestBaseIsValid(t *testing.T) {
	if _, err := Load("t.yaml", []byte(base)); err != nil {
		t.Fatal(err)
	}
	f, err := Load("t.yaml", []byte(edit(t, "  - name: c1\n", "  - name: c1\n    fair_share_weight: 2.5\n")))
	if err != nil {
		t.Fatal(err)
	}
	if w := f.Cohorts[0].FairShareWeight; w != 2.5 {
		t.Errorf("cohort fair_share_weight = %g, want 2.5", w)
	}
	f, err = Load("t.yaml", []byte(edit(t, "cohorts:", "data_classes:\n  - name: health\n    jurisdictions: [FR]\ncohorts:")))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string][]string{"health": {"FR"}}, f.DataClasses); d != "" {
		t.Errorf("data classes (-want +got):\n%s", d)
	}
}

func TestErrors(t *testing.T) {
	extraSite := `  - id: s1
    country: DE
    operator: Op GmbH
    power_envelope_kw: 10
    pue: 1.3
    halls: [{id: h1}]
cohorts:`
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"data class tag", edit(t, "cohorts:", "data_classes:\n  - name: health\n    jurisdictions: [DE]\ncohorts:"), []string{
			`t.yaml:22: data_classes[0].jurisdictions: no site carries jurisdiction "DE", so data of class "health" could live nowhere there; sites carry: EU, FR`}},
		{"cohort weight", edit(t, "  - name: c1\n", "  - name: c1\n    fair_share_weight: 0\n"), []string{
			`t.yaml:22: cohorts[0].fair_share_weight: 0 must be > 0 (at most 1e6); leave it out to weigh the cohort by its tenants' weights`}},
		{"unknown country", edit(t, "country: FR", "country: FX"), []string{
			`t.yaml:4: sites[0].country: "FX" is not an ISO 3166-1 alpha-2 country code; use e.g. FR, DE, US`}},
		{"UK is GB", edit(t, "country: FR", "country: UK"), []string{
			`t.yaml:4: sites[0].country: "UK" is not an ISO 3166-1 alpha-2 country code; use GB`}},
		{"lower-case country", edit(t, "country: FR", "country: fr"), []string{
			`t.yaml:4: sites[0].country: "fr" must be upper case; write FR`}},
		{"unknown field", edit(t, "    pue: 1.2\n", "    pue: 1.2\n    contry: FR\n"), []string{
			`t.yaml:8: sites[0].contry: unknown field (did you mean "country"?); known fields: id, name, country, operator, jurisdictions, power_envelope_kw, pue, grid_zone, halls`}},
		{"unknown field that does not print as itself", edit(t, "    pue: 1.2\n", "    pue: 1.2\n    \"contry\\e[2J\": FR\n"), []string{
			`t.yaml:8: sites[0]."contry\x1b[2J": unknown field; known fields: id, name, country, operator, jurisdictions, power_envelope_kw, pue, grid_zone, halls`}},
		{"pue below 1", edit(t, "pue: 1.2", "pue: 0.9"), []string{
			`t.yaml:7: sites[0].pue: 0.9 is below 1; facility power cannot be less than IT power (typical values 1.1-1.6)`}},
		{"negative power", edit(t, "power_cap_kw: 50", "power_cap_kw: -5"), []string{
			`t.yaml:12: sites[0].halls[0].racks[0].power_cap_kw: -5 is negative; power figures must be >= 0 (0 means no cap)`}},
		{"negative base power", edit(t, "base_watts: 1000", "base_watts: -5"), []string{
			`t.yaml:19: sites[0].halls[0].racks[0].nodes[0].base_watts: -5 is negative; a node's base power (CPUs, memory, fans, NICs) is in W, >= 0`}},
		{"zero envelope", edit(t, "power_envelope_kw: 100", "power_envelope_kw: 0"), []string{
			`t.yaml:6: sites[0].power_envelope_kw: must be > 0: the IT power the site may draw, in kW`}},
		{"missing fields", edit(t, "    operator: Op SAS\n    power_envelope_kw: 100\n", ""), []string{
			`t.yaml:3: sites[0].operator: missing required field; name the legal entity that operates the site, e.g. "Example Datacenters SAS"`,
			`t.yaml:3: sites[0].power_envelope_kw: missing required field; set the site's IT power envelope in kW (> 0)`}},
		{"unknown GPU model", edit(t, "gpu_model: H100", "gpu_model: H800"), []string{
			`t.yaml:15: sites[0].halls[0].racks[0].nodes[0].gpu_model: unknown GPU model "H800"; known models: A100, B200, GB200, GB300, H100, H200, MI300X (define new ones under gpu_models)`}},
		{"gpus without model", edit(t, "                gpu_model: H100\n", ""), []string{
			`t.yaml:15: sites[0].halls[0].racks[0].nodes[0].gpu_model: nodes with gpus > 0 need a gpu_model; add e.g. gpu_model: H100`}},
		{"wrong type", edit(t, "gpus: 8", "gpus: eight"), []string{
			`t.yaml:16: sites[0].halls[0].racks[0].nodes[0].gpus: must be a whole number, not a string`}},
		{"duplicate node", edit(t, "                base_watts: 1000\n", "                base_watts: 1000\n              - {names: [n9, n4], cpus: 8, memory_gib: 8, base_watts: 100}\n"), []string{
			`t.yaml:20: sites[0].halls[0].racks[0].nodes[1].names: node name "n4" is already defined at line 14; node names must be unique across the facility`}},
		{"duplicate site", edit(t, "cohorts:", extraSite), []string{
			`t.yaml:20: sites[1].id: site id "s1" is already used at line 3; site ids must be unique`}},
		{"duplicate rack", edit(t, "          - id: r1\n", "          - id: r1\n            nodes: []\n          - id: r1\n"), []string{
			`t.yaml:13: sites[0].halls[0].racks[1].id: rack id "r1" is already used in hall s1/h1 at line 11; rack ids must be unique within a hall`}},
		{"duplicate hall", edit(t, "        racks:\n", "        racks: []\n      - id: h1\n        racks:\n"), []string{
			`t.yaml:11: sites[0].halls[1].id: hall id "h1" is already used in site s1 at line 9; hall ids must be unique within a site`}},
		{"quota above capacity", edit(t, "nominal: 16", "nominal: 64"), []string{
			`t.yaml:26: tenants[0].quota.H100.nominal: 64 H100 GPUs is above the facility's 32 H100 GPUs; lower it (overcommit comes from summing tenants, not from one quota)`}},
		{"quota outside jurisdictions", edit(t, "    cohort: c1\n", "    cohort: c1\n    jurisdictions: [US]\n"), []string{
			`t.yaml:25: tenants[0].jurisdictions: no site carries jurisdiction "US", so the tenant could run nowhere there; sites carry: EU, FR`,
			`t.yaml:27: tenants[0].quota.H100.nominal: 16 H100 GPUs is above the 0 H100 GPUs at sites in US; lower it or allow more jurisdictions`}},
		{"lower-case jurisdiction", edit(t, "    cohort: c1\n", "    cohort: c1\n    jurisdictions: [fr, '']\n"), []string{
			`t.yaml:25: tenants[0].jurisdictions[0]: "fr" is not a jurisdiction tag; tags are non-empty upper-case words such as EU, FR or US-GOV`,
			`t.yaml:25: tenants[0].jurisdictions[1]: "" is not a jurisdiction tag; tags are non-empty upper-case words such as EU, FR or US-GOV`}},
		{"EU tag outside the EU", edit(t, "country: FR", "country: US\n    jurisdictions: [EU]"), []string{
			`t.yaml:5: sites[0].jurisdictions: US is not an EU member state, so the site cannot carry EU`,
			`t.yaml:5: sites[0].jurisdictions: must include the site's country US (data in the site is under its law)`}},
		{"cohort cycle", edit(t, "  - name: c1\n", "  - name: c1\n    parent: c3\n  - name: c2\n    parent: c1\n  - name: c3\n    parent: c2\n"), []string{
			`t.yaml:22: cohorts[0].parent: cohorts form a cycle: c1 -> c3 -> c2 -> c1; make one of them a root by removing its parent`}},
		{"unknown parent and cohort", edit(t, "  - name: c1\n", "  - name: c1\n    parent: root\n", "cohort: c1", "cohort: cx"), []string{
			`t.yaml:22: cohorts[0].parent: cohort "root" is not defined; defined: c1`,
			`t.yaml:25: tenants[0].cohort: cohort "cx" is not defined; add it under cohorts or fix the name (defined: c1)`}},
		{"bad ranges", edit(t, "names: n[1-4]", "names: ['n[4-1]', 'm[1-2', 'k[a]']"), []string{
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: "k[a]": bad range item "a"; use numbers like 7 or 001-128`,
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: "m[1-2" has a '[' that is not closed; write ranges as name[1-4] or name[1,3,5-7]`,
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: "n[4-1]": range "4-1" runs backwards; write the lower bound first`}},
		{"rack cap below idle", edit(t, "power_cap_kw: 50", "power_cap_kw: 5"), []string{
			`t.yaml:12: sites[0].halls[0].racks[0].power_cap_kw: rack s1/h1/r1 idles at 6.3 kW, above its cap 5 kW, so its nodes could never all be on; raise power_cap_kw or move nodes`}},
		{"hall and rack caps", edit(t, "      - id: h1\n", "      - id: h1\n        power_cap_kw: 200\n"), []string{
			`t.yaml:10: sites[0].halls[0].power_cap_kw: hall cap 200 kW is above the site's power envelope 100 kW; lower it to at most 100`}},
		{"rack above hall", edit(t, "      - id: h1\n", "      - id: h1\n        power_cap_kw: 40\n"), []string{
			`t.yaml:13: sites[0].halls[0].racks[0].power_cap_kw: rack cap 50 kW is above its hall's cap 40 kW`}},
		{"cooling below cap", edit(t, "power_cap_kw: 50", "power_cap_kw: 50\n            cooling_capacity_kw: 20"), []string{
			`t.yaml:13: sites[0].halls[0].racks[0].cooling_capacity_kw: rack s1/h1/r1: cooling capacity 20 kW is below its nameplate 26.4 kW; every watt drawn becomes heat, so raise cooling_capacity_kw or set power_cap_kw <= 20`}},
		{"undefined priority class", edit(t, "    cohort: c1\n", "    cohort: c1\n    priority_classes: [urgent]\n"), []string{
			`t.yaml:25: tenants[0].priority_classes: priority class "urgent" is not defined; defined: critical, high, low, normal`}},
		{"rack range without {rack}", edit(t, "id: r1", "id: r[1-2]"), []string{
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: "n[1-4]" has no {rack} placeholder, but the rack entry "r[1-2]" describes 2 racks, so the names would repeat in every rack; write e.g. "{rack}-n[01-18]"`,
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: node name "n1" is already defined at line 14; node names must be unique across the facility`,
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: node name "n2" is already defined at line 14; node names must be unique across the facility`,
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: node name "n3" is already defined at line 14; node names must be unique across the facility`,
			`t.yaml:14: sites[0].halls[0].racks[0].nodes[0].names: node name "n4" is already defined at line 14; node names must be unique across the facility`}},
		{"policy", edit(t, "cohorts:", "policy:\n  sovereignty: false\n  fair_share_half_life: 1 week\n  power: false\n  power_capping: true\ncohorts:"), []string{
			`t.yaml:21: policy.sovereignty: sovereignty cannot be turned off: jobs never run outside their allowed jurisdictions; remove the field`,
			`t.yaml:22: policy.fair_share_half_life: "1 week" is not a duration of at least 1s; write e.g. 7d, 168h, 90m or 30s`,
			`t.yaml:24: policy.power_capping: power capping needs power accounting; set power: true or power_capping: false`}},
		// a duration above the limit read "is not a duration of at least 1s"
		{"policy durations too long", edit(t, "cohorts:", "policy:\n  fair_share_half_life: 36501d\n  reclaim_min_run: 36501d\ncohorts:"), []string{
			`t.yaml:21: policy.fair_share_half_life: must be from 0 to 100 years (36500d); got "36501d"`,
			`t.yaml:22: policy.reclaim_min_run: must be from 0 to 100 years (36500d); got "36501d"`}},
		{"policy order and reservation", edit(t, "cohorts:", "policy:\n  order: lifo\n  backfill: false\n  reservation: false\ncohorts:"), []string{
			`t.yaml:21: policy.order: unknown order "lifo"; use fifo or shortest-first`,
			`t.yaml:23: policy.reservation: reservation: false only changes backfill; set backfill: true or remove the field`}},
		{"outside jurisdiction action", edit(t, "cohorts:", "policy:\n  outside_jurisdiction: evict\ncohorts:"), []string{
			`t.yaml:21: policy.outside_jurisdiction: unknown action "evict"; use flag (record it, let it run) or requeue (stop it and queue it again)`}},
		{"borrowing", edit(t, "cohorts:", "policy:\n  borrowing: never\ncohorts:"), []string{
			`t.yaml:21: policy.borrowing: unknown value "never"; use any (every job may borrow beyond its tenant's nominal quota) or preemptible (only jobs reclaim may take back)`}},
		{"reclaim victims", edit(t, "cohorts:", "policy:\n  reclaim_victims: all\ncohorts:"), []string{
			`t.yaml:21: policy.reclaim_victims: unknown value "all"; use proportionate (victim_ratio bounds reclaim's victims too) or any (a tenant within its nominal quota takes it back from borrowers of any size)`}},
		{"reclaim victims without reclaim", edit(t, "cohorts:", "policy:\n  reclaim: false\n  reclaim_victims: any\ncohorts:"), []string{
			`t.yaml:22: policy.reclaim_victims: reclaim_victims: any only changes reclaim; set reclaim: true or remove the field`}},
		{"reclaim victims without preemption", edit(t, "cohorts:", "policy:\n  preemption: false\n  reclaim_victims: any\ncohorts:"), []string{
			`t.yaml:22: policy.reclaim_victims: reclaim_victims: any only changes reclaim, which works by preemption; set preemption: true or remove the field`}},
		{"reclaim victims with reclaim without preemption", edit(t, "cohorts:", "policy:\n  preemption: false\n  reclaim: true\n  reclaim_victims: any\ncohorts:"), []string{
			`t.yaml:22: policy.reclaim: reclaim works by preemption; set preemption: true or reclaim: false`,
			`t.yaml:23: policy.reclaim_victims: reclaim_victims: any only changes reclaim, which works by preemption; set preemption: true or remove the field`}},
		{"reclaim victims without quotas", edit(t, "cohorts:", "policy:\n  quotas: false\n  reclaim_victims: any\ncohorts:"), []string{
			`t.yaml:22: policy.reclaim_victims: reclaim_victims: any only changes reclaim, which takes back nominal quota; set quotas: true or remove the field`}},
		{"power share without capping", edit(t, "cohorts:", "policy:\n  power_capping: false\n  power_share: true\ncohorts:"), []string{
			`t.yaml:22: policy.power_share: power_share caps GPUs to their share of the envelope; it needs power: true and power_capping: true`}},
		{"power recap without capping", edit(t, "cohorts:", "policy:\n  power_capping: false\n  power_recap: true\ncohorts:"), []string{
			`t.yaml:22: policy.power_recap: power_recap raises the caps of running capped jobs; it needs power: true and power_capping: true`}},
		{"deferral booking without deferral", edit(t, "cohorts:", "policy:\n  deferral: false\n  deferral_booking: false\ncohorts:"), []string{
			`t.yaml:22: policy.deferral_booking: deferral_booking: false only changes deferral; set deferral: true or remove the field`}},
		{"deferral booking not a bool", edit(t, "cohorts:", "policy:\n  deferral_booking: maybe\ncohorts:"), []string{
			`t.yaml:21: policy.deferral_booking: must be true or false, not a string`}},
		{"negative capped speed exponent", edit(t, "cohorts:", "policy:\n  capped_speed_exponent: -0.5\ncohorts:"), []string{
			`t.yaml:21: policy.capped_speed_exponent: -0.5 is out of range; use a value from 0 to 4`}},
		{"absurd capped speed exponent", edit(t, "cohorts:", "policy:\n  capped_speed_exponent: 50\ncohorts:"), []string{
			`t.yaml:21: policy.capped_speed_exponent: 50 is out of range; use a value from 0 to 4`}},
		{"capped speed exponent not a number", edit(t, "cohorts:", "policy:\n  capped_speed_exponent: slow\ncohorts:"), []string{
			`t.yaml:21: policy.capped_speed_exponent: must be a number, not a string`}},
		{"cap below idle", edit(t, "cohorts:", "gpu_models:\n  H100: {min_cap_watts: 50}\ncohorts:"), []string{
			`t.yaml:21: gpu_models.H100.min_cap_watts: min cap 50 W is below the idle draw 72 W: a capped busy GPU cannot draw less than an idle one; set min_cap_watts >= idle_watts (0 turns capping off)`}},
		{"syntax error", "name: t\nsites: [\n", []string{
			`t.yaml:2: YAML syntax error: sequence end token ']' not found`}},
		{"empty", "# nothing\n", []string{
			`t.yaml: empty facility description; start with name: and sites: (see docs/facility.md)`}},
		{"two documents", base + "---\nname: u\n", []string{
			`t.yaml:28: a facility file holds one YAML document; remove the second one (after ---)`}},
		{"not a mapping", "- a\n- b\n", []string{
			`t.yaml:1: must be a mapping of fields, not a list`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error = %v, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsAs(t *testing.T) {
	_, err := Load("x.yaml", []byte(edit(t, "pue: 1.2", "pue: 0.5")))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed for %v", err)
	}
	want := &Error{File: "x.yaml", Line: 7, Field: "sites[0].pue", Msg: "0.5 is below 1; facility power cannot be less than IT power (typical values 1.1-1.6)"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
