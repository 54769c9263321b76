package plan_test

import (
	"bytes"
	"strings"
	"testing"

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
		// par: n1 1000 + 4×700 + 4×450, n2 4080 (see TestPowerW).
		"summary: 1 started (8 GPUs), 1 pending, 1 preempted, 1 deferred; par 9.7/40.0 kW; fra 1.4/- kW",
		"",
	}, "\n")
	if diff := cmp.Diff(want, b.String()); diff != "" {
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
}
