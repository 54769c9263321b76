package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestWriteJSONStreamsLikeTheEncoder: streaming the pending list gives
// exactly the bytes of encoding the whole plan at once.
func TestWriteJSONStreamsLikeTheEncoder(t *testing.T) {
	base := model.Plan{Now: 1767225600, Partial: true,
		Starts:       []model.Start{{Job: "s1", Replicas: []model.Placement{{Node: "n1", GPUs: []int{0, 1}, PowerCapW: 450}}, PowerW: 1260}},
		Reservations: []model.Reservation{{Job: "r1", Nodes: []string{"n2"}, EstStart: 1767229200}},
		Recaps:       []model.Recap{{Job: "c1", PowerCapW: 550, PowerW: 1200}, {Job: "c2", PowerW: 2400}, {Job: "c3", PowerCapW: 300, PowerW: -1400}}}
	var pending []model.Pending
	for i := 0; i < 7; i++ {
		pending = append(pending, model.Pending{Job: fmt.Sprintf("j%d", i), Code: model.ReasonQuota,
			Message: "quota: \"x\" <&> ü\t", EstStart: model.Time(i % 2 * (1767225600 + i*60))})
	}
	for _, n := range []int{0, 1, 7} {
		p := base
		p.Pending = pending[:n]
		var got bytes.Buffer
		if err := WriteJSON(&got, &p); err != nil {
			t.Fatal(err)
		}
		// the oracle: the whole DTO through one indented encoder
		out := planJSON{Now: timeJSON(p.Now), Partial: p.Partial, Starts: []startJSON{}, Recaps: []recapJSON{},
			Preemptions: []preemptionJSON{}, Deferrals: []deferralJSON{}, Reservations: []reservationJSON{}, Pending: []pendingJSON{}}
		for _, s := range p.Starts {
			sj := startJSON{Job: s.Job, PowerW: s.PowerW}
			for _, pl := range s.Replicas {
				sj.Replicas = append(sj.Replicas, placementJSON{Node: pl.Node, GPUs: pl.GPUs, PowerCapW: pl.PowerCapW})
			}
			out.Starts = append(out.Starts, sj)
		}
		for _, r := range p.Recaps {
			out.Recaps = append(out.Recaps, recapJSON{Job: r.Job, PowerCapW: r.PowerCapW, PowerW: r.PowerW})
		}
		for _, r := range p.Reservations {
			out.Reservations = append(out.Reservations, reservationJSON{Job: r.Job, Nodes: r.Nodes, EstStart: timeJSON(r.EstStart)})
		}
		for _, pe := range p.Pending {
			out.Pending = append(out.Pending, pendingJSON{Job: pe.Job, Code: string(pe.Code), Message: pe.Message, EstStart: timeJSON(pe.EstStart)})
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.String(), got.String()); d != "" {
			t.Errorf("%d pending: streamed JSON differs (-encoder +streamed):\n%s", n, d)
		}
	}
}
