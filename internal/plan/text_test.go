package plan_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

func fullPlan() (*model.Snapshot, *model.Plan) {
	snap, p := fixture()
	p.Starts[0].Replicas[1].PowerCapW = 450
	p.Starts[0].PowerW = 5000
	p.Preemptions = []model.Preemption{{Victim: "r1", Beneficiary: "j2", Reason: "priority", NoticeAt: t0,
		EvictAt: t0 + 600, LostGPUSeconds: 4 * 1800}}
	p.Deferrals = []model.Deferral{{Job: "j2", Until: t0 + 7200, Reason: "cheaper at 02:00"}}
	p.Reservations = []model.Reservation{{Job: "j2", Nodes: []string{"n2"}, EstStart: t0 + 600}}
	p.Pending[0].EstStart = t0 + 600
	// r2 runs on fra's n3 (A100: TDP 400 W, idle 50 W) under two caps;
	// the plan uncaps it.
	r2 := job("r2", "beta", 2, 2)
	snap.Running = append(snap.Running, model.Allocation{Job: r2, Started: t0 - 600, Replicas: []model.Placement{
		{Node: "n3", GPUs: []int{0, 1}, PowerCapW: 200}, {Node: "n3", GPUs: []int{2, 3}, PowerCapW: 300}}})
	p.Recaps = []model.Recap{{Job: "r2", PowerCapW: 0, PowerW: 2*200 + 2*100}}
	return snap, p
}

func TestWriteText(t *testing.T) {
	snap, p := fullPlan()
	var b bytes.Buffer
	if err := plan.WriteText(&b, snap, p); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"STARTS",
		"  JOB  TENANT  REPLICAS  PLACEMENT      POWER CAP",
		"  j1   acme    2         n1:0-3 n1:4-7  -,450W",
		"RECAPS",
		"  JOB  TENANT  FROM       POWER CAP",
		"  r2   beta    200W,300W  -",
		"PREEMPTIONS",
		"  VICTIM  FOR  NOTICE                EVICT                 LOST GPU-H  REASON",
		"  r1      j2   2026-01-01T00:00:00Z  2026-01-01T00:10:00Z  2.00        priority",
		"DEFERRALS",
		"  JOB  UNTIL                 REASON",
		"  j2   2026-01-01T02:00:00Z  cheaper at 02:00",
		"RESERVATIONS",
		"  JOB  EST START             NODES",
		"  j2   2026-01-01T00:10:00Z  n2",
		"PENDING",
		"  JOB  CODE      EST START             MESSAGE",
		"  j2   priority  2026-01-01T00:10:00Z  behind j1",
		// par: n1 1000 + 4×700 + 4×450, n2 4080 (see TestPowerW); fra:
		// n3 1000 + 4×400 (r2, uncapped) + 4×50.
		"summary: 1 started (8 GPUs), 1 pending, 1 preempted, 1 deferred, 1 recapped; par 9.7/40.0 kW; fra 2.8/- kW",
		"",
	}, "\n")
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
}

// TestWriteTextLent: a recap of replicas on lent power shows, after the
// caps they run at, the caps they started with (their own, the lowest a
// recap may give them).
func TestWriteTextLent(t *testing.T) {
	snap, p := fullPlan()
	p.Starts, p.Preemptions, p.Deferrals, p.Reservations, p.Pending = nil, nil, nil, nil, nil
	snap.Running[0].Replicas = []model.Placement{{Node: "n2", GPUs: []int{0, 1, 2, 3}, PowerCapW: 650, StartCapW: 300}}
	r2 := &snap.Running[1]
	r2.Replicas[0].StartCapW, r2.Replicas[1].PowerCapW = 150, 0 // 200W (own 150W), uncapped never raised
	p.Recaps = []model.Recap{{Job: "r1", PowerCapW: 300, PowerW: -1400}, {Job: "r2", PowerCapW: 0, PowerW: 800}}
	var b bytes.Buffer
	if err := plan.WriteText(&b, snap, p); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"RECAPS",
		"  JOB  TENANT  FROM                 POWER CAP",
		"  r1   beta    650W (own 300W)      300W",
		"  r2   beta    200W,- (own 150W,-)  -",
		"",
	}, "\n")
	got := b.String()[:strings.LastIndex(b.String(), "summary: ")]
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
}

func TestWriteTextEmpty(t *testing.T) {
	snap, _ := fixture()
	var b bytes.Buffer
	if err := plan.WriteText(&b, snap, &model.Plan{Now: t0}); err != nil {
		t.Fatal(err)
	}
	want := "summary: 0 started (0 GPUs), 0 pending, 0 preempted, 0 deferred; par 5.6/40.0 kW; fra 1.4/- kW\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	_, p := fullPlan()
	p.Starts[0].Replicas = p.Starts[0].Replicas[1:]
	var b bytes.Buffer
	if err := plan.WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `{
  "now": "2026-01-01T00:00:00Z",
  "partial": false,
  "starts": [
    {
      "job": "j1",
      "replicas": [
        {
          "node": "n1",
          "gpus": [
            4,
            5,
            6,
            7
          ],
          "power_cap_w": 450
        }
      ],
      "power_w": 5000
    }
  ],
  "recaps": [
    {
      "job": "r2",
      "power_cap_w": 0,
      "power_w": 600
    }
  ],
  "preemptions": [
    {
      "victim": "r1",
      "beneficiary": "j2",
      "reason": "priority",
      "notice_at": "2026-01-01T00:00:00Z",
      "evict_at": "2026-01-01T00:10:00Z",
      "lost_gpu_seconds": 7200
    }
  ],
  "deferrals": [
    {
      "job": "j2",
      "until": "2026-01-01T02:00:00Z",
      "reason": "cheaper at 02:00"
    }
  ],
  "reservations": [
    {
      "job": "j2",
      "nodes": [
        "n2"
      ],
      "est_start": "2026-01-01T00:10:00Z"
    }
  ],
  "pending": [
    {
      "job": "j2",
      "code": "priority",
      "message": "behind j1",
      "est_start": "2026-01-01T00:10:00Z"
    }
  ]
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteJSON (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := plan.WriteJSON(&b, &model.Plan{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "null") {
		t.Errorf("empty plan has null lists:\n%s", b.String())
	}
	if !strings.Contains(b.String(), `"recaps": [],`) {
		t.Errorf("empty plan without an empty recaps list:\n%s", b.String())
	}
}

// benchPlan is a synthetic plan of the size of a 1M-job backlog: 20,000
// starts of 1-4 replicas over 10,000 nodes and 1,000,000 pending entries,
// every job also in the snapshot as the schedule command has it.
func benchPlan() (*model.Snapshot, *model.Plan) {
	const nodes, starts, pending = 10_000, 20_000, 1_000_000
	fac := &model.Facility{
		Name:      "bench",
		GPUModels: map[string]model.GPUModel{"H100": h100()},
		Sites:     []model.Site{{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}, PowerEnvelopeKW: 120_000}},
		Halls:     []model.Hall{{ID: "par-h1", Site: "par"}},
		Racks:     []model.Rack{{ID: "par-r1", Hall: "par-h1"}},
		Policy:    model.DefaultPolicy(),
	}
	for i := range nodes {
		fac.Nodes = append(fac.Nodes, node(fmt.Sprintf("par-h1-r%03d-n%02d", i/4, i%4+1), "par", "H100"))
	}
	snap := &model.Snapshot{Facility: fac}
	p := &model.Plan{Now: t0}
	codes := []model.ReasonCode{model.ReasonQuota, model.ReasonCapacity, model.ReasonPriority, model.ReasonTopology}
	for i := range starts {
		j := job(fmt.Sprintf("job-%07d", i), fmt.Sprintf("tenant-%03d", i%200), 1+i%4, 8)
		snap.Pending = append(snap.Pending, j)
		s := model.Start{Job: j.ID}
		for r := range j.Replicas {
			pl := place(fac.Nodes[(i*4+r)%nodes].Name, seq(0, 7)...)
			if i%10 == 0 {
				pl.PowerCapW = 550
			}
			s.Replicas = append(s.Replicas, pl)
		}
		p.Starts = append(p.Starts, s)
	}
	for i := range pending {
		j := job(fmt.Sprintf("job-%07d", starts+i), fmt.Sprintf("tenant-%03d", i%200), 1, 8)
		snap.Pending = append(snap.Pending, j)
		pe := model.Pending{Job: j.ID, Code: codes[i%len(codes)],
			Message: fmt.Sprintf("quota of tenant %s exhausted, %d/%d H100 in use", j.Tenant, 64+i%64, 128)}
		if i < 16 {
			pe.EstStart = t0 + model.Time(600*i)
		}
		p.Pending = append(p.Pending, pe)
	}
	return snap, p
}

// BenchmarkWriteText renders the table of benchPlan, as `carnot schedule
// -o table` does for a 1M-job backlog.
//
//	go test ./internal/plan/ -run '^$' -bench WriteText -benchtime 2x -count 6
func BenchmarkWriteText(b *testing.B) {
	snap, p := benchPlan()
	b.ReportAllocs()
	for b.Loop() {
		if err := plan.WriteText(io.Discard, snap, p); err != nil {
			b.Fatal(err)
		}
	}
}

// writeTextOracle is WriteText as it was, through one text/tabwriter over
// every row; the summary line is left out. TestWriteTextOracle holds the
// two-pass writer to it byte for byte.
func writeTextOracle(w io.Writer, snap *model.Snapshot, p *model.Plan) {
	tenant := func(id string) string {
		for _, j := range snap.Pending {
			if j.ID == id {
				return j.Tenant
			}
		}
		for _, a := range snap.Running {
			if a.Job.ID == id {
				return a.Job.Tenant
			}
		}
		return "?"
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title, header string, n int, row func(i int) []string) {
		if n == 0 {
			return
		}
		fmt.Fprintln(tw, title)
		fmt.Fprintln(tw, "  "+header)
		for i := range n {
			fmt.Fprintln(tw, "  "+strings.Join(row(i), "\t"))
		}
	}
	section("STARTS", "JOB\tTENANT\tREPLICAS\tPLACEMENT\tPOWER CAP", len(p.Starts), func(i int) []string {
		s := p.Starts[i]
		var places, caps []string
		for _, pl := range s.Replicas {
			places = append(places, pl.Node+":"+oracleGPUList(pl.GPUs))
			c := "-"
			if pl.PowerCapW > 0 {
				c = strconv.Itoa(pl.PowerCapW) + "W"
			}
			caps = append(caps, c)
		}
		capText := "-"
		if len(caps) > 0 {
			capText = caps[0]
			for _, c := range caps {
				if c != caps[0] {
					capText = strings.Join(caps, ",")
				}
			}
		}
		return []string{s.Job, tenant(s.Job), strconv.Itoa(len(s.Replicas)), strings.Join(places, " "), capText}
	})
	capText := func(caps []string) string {
		if len(caps) == 0 {
			return "-"
		}
		for _, c := range caps {
			if c != caps[0] {
				return strings.Join(caps, ",")
			}
		}
		return caps[0]
	}
	section("RECAPS", "JOB\tTENANT\tFROM\tPOWER CAP", len(p.Recaps), func(i int) []string {
		r := p.Recaps[i]
		var from, own []string
		lent := false
		fromText := "?"
		for _, a := range snap.Running {
			if a.Job.ID == r.Job {
				fromText = ""
				for _, pl := range a.Replicas {
					from = append(from, oracleCap(pl.PowerCapW))
					own = append(own, oracleCap(pl.OwnCapW()))
					lent = lent || pl.StartCapW > 0
				}
			}
		}
		if fromText == "" {
			fromText = capText(from)
			if lent {
				fromText += " (own " + capText(own) + ")"
			}
		}
		return []string{r.Job, tenant(r.Job), fromText, oracleCap(r.PowerCapW)}
	})
	section("PREEMPTIONS", "VICTIM\tFOR\tNOTICE\tEVICT\tLOST GPU-H\tREASON", len(p.Preemptions), func(i int) []string {
		pr := p.Preemptions[i]
		return []string{pr.Victim, dash(pr.Beneficiary), pr.NoticeAt.String(), pr.EvictAt.String(),
			strconv.FormatFloat(pr.LostGPUSeconds/3600, 'f', 2, 64), dash(pr.Reason)}
	})
	section("DEFERRALS", "JOB\tUNTIL\tREASON", len(p.Deferrals), func(i int) []string {
		d := p.Deferrals[i]
		return []string{d.Job, d.Until.String(), dash(d.Reason)}
	})
	section("RESERVATIONS", "JOB\tEST START\tNODES", len(p.Reservations), func(i int) []string {
		r := p.Reservations[i]
		return []string{r.Job, r.EstStart.String(), dash(strings.Join(r.Nodes, ","))}
	})
	section("PENDING", "JOB\tCODE\tEST START\tMESSAGE", len(p.Pending), func(i int) []string {
		pe := p.Pending[i]
		return []string{pe.Job, string(pe.Code), pe.EstStart.String(), dash(pe.Message)}
	})
	tw.Flush()
}

// oracleCap is a cap as the tables show it.
func oracleCap(w int) string {
	if w > 0 {
		return strconv.Itoa(w) + "W"
	}
	return "-"
}

// oracleGPUList lists every index, then folds ascending runs of three
// or more, the slow way.
func oracleGPUList(gpus []int) string {
	if len(gpus) == 0 {
		return "-"
	}
	var parts []string
	start := 0
	for i := 1; i <= len(gpus); i++ {
		if i < len(gpus) && gpus[i] == gpus[i-1]+1 {
			continue
		}
		if i-1 == start {
			parts = append(parts, strconv.Itoa(gpus[start]))
		} else {
			parts = append(parts, strconv.Itoa(gpus[start])+"-"+strconv.Itoa(gpus[i-1]))
		}
		start = i
	}
	return strings.Join(parts, ",")
}

// TestWriteTextOracle renders random plans, with odd text among them
// (wide runes, empty strings, tabs, newlines, tabwriter's escape byte),
// and compares the tables with writeTextOracle.
func TestWriteTextOracle(t *testing.T) {
	words := []string{"", "a", "job-0001", "tenant-x", "héllo wörld", "日本語のジョブ", "x\ty", "line\nbreak", "v\vf\f", "esc\xffape", "-", "  "}
	times := []model.Time{0, t0, t0 + 3661, model.Forever, -5, 253402300800}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(odd bool) string {
		if !odd {
			return words[rng.IntN(6)]
		}
		return words[rng.IntN(len(words))]
	}
	for iter := range 400 {
		snap, _ := fixture()
		p := &model.Plan{Now: t0}
		odd := iter%4 == 3
		for range rng.IntN(4) {
			s := model.Start{Job: []string{"j1", "j2", "r1", "zz"}[rng.IntN(4)]}
			for range rng.IntN(4) {
				pl := model.Placement{Node: word(odd), PowerCapW: []int{0, -1, 450, 700}[rng.IntN(4)]}
				for g := range rng.IntN(9) {
					if rng.IntN(3) > 0 {
						pl.GPUs = append(pl.GPUs, g)
					}
				}
				s.Replicas = append(s.Replicas, pl)
			}
			p.Starts = append(p.Starts, s)
		}
		for range rng.IntN(3) {
			p.Recaps = append(p.Recaps, model.Recap{Job: []string{"r1", "r1", "j1", word(odd)}[rng.IntN(4)],
				PowerCapW: []int{0, -1, 450, 700}[rng.IntN(4)]})
		}
		if rng.IntN(2) == 0 { // r1 split in two replicas, capped or not
			r := &snap.Running[0]
			r.Replicas = []model.Placement{{Node: "n2", GPUs: []int{0, 1}, PowerCapW: []int{0, 300}[rng.IntN(2)]},
				{Node: "n2", GPUs: []int{2, 3}, PowerCapW: []int{0, 300}[rng.IntN(2)]}}
		}
		for i := range snap.Running[0].Replicas { // on lent power, at times
			snap.Running[0].Replicas[i].StartCapW = []int{0, 0, 200, 300, -1}[rng.IntN(5)]
		}
		for range rng.IntN(3) {
			p.Preemptions = append(p.Preemptions, model.Preemption{Victim: word(odd), Beneficiary: word(odd), Reason: word(odd),
				NoticeAt: times[rng.IntN(len(times))], EvictAt: times[rng.IntN(len(times))], LostGPUSeconds: rng.Float64() * 1e6})
		}
		for range rng.IntN(3) {
			p.Deferrals = append(p.Deferrals, model.Deferral{Job: word(odd), Until: times[rng.IntN(len(times))], Reason: word(odd)})
		}
		for range rng.IntN(3) {
			r := model.Reservation{Job: word(odd), EstStart: times[rng.IntN(len(times))]}
			for range rng.IntN(3) {
				r.Nodes = append(r.Nodes, word(odd))
			}
			p.Reservations = append(p.Reservations, r)
		}
		for range rng.IntN(5) {
			p.Pending = append(p.Pending, model.Pending{Job: word(odd), Code: model.ReasonCode(word(odd)),
				EstStart: times[rng.IntN(len(times))], Message: word(odd)})
		}
		var got, want bytes.Buffer
		if err := plan.WriteText(&got, snap, p); err != nil {
			t.Fatal(err)
		}
		writeTextOracle(&want, snap, p)
		table := got.String()[:strings.LastIndex(got.String(), "summary: ")]
		if diff := cmp.Diff(want.String(), table); diff != "" {
			t.Fatalf("plan %d: WriteText differs from the tabwriter oracle (-want +got):\n%s", iter, diff)
		}
	}
}
