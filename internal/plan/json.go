package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/carnot-dc/carnot/internal/model"
)

// The JSON form of a plan. Field names are part of Carnot's API: add
// fields, never rename them. Times are RFC 3339 UTC strings, "" when
// unset, "never" for model.Forever.
type (
	planJSON struct {
		Now          string            `json:"now"`
		Partial      bool              `json:"partial"`
		Starts       []startJSON       `json:"starts"`
		Recaps       []recapJSON       `json:"recaps"`
		Preemptions  []preemptionJSON  `json:"preemptions"`
		Deferrals    []deferralJSON    `json:"deferrals"`
		Reservations []reservationJSON `json:"reservations"`
		Pending      []pendingJSON     `json:"pending"`
	}
	startJSON struct {
		Job      string          `json:"job"`
		Replicas []placementJSON `json:"replicas"`
		PowerW   float64         `json:"power_w"`
	}
	placementJSON struct {
		Node      string `json:"node"`
		GPUs      []int  `json:"gpus"`
		PowerCapW int    `json:"power_cap_w"`
	}
	recapJSON struct {
		Job       string  `json:"job"`
		PowerCapW int     `json:"power_cap_w"`
		PowerW    float64 `json:"power_w"`
	}
	preemptionJSON struct {
		Victim         string  `json:"victim"`
		Beneficiary    string  `json:"beneficiary"`
		Reason         string  `json:"reason"`
		NoticeAt       string  `json:"notice_at"`
		EvictAt        string  `json:"evict_at"`
		LostGPUSeconds float64 `json:"lost_gpu_seconds"`
		// Replicas, on a partial preemption, are the deployment's
		// replicas it takes (absent: the whole job).
		Replicas []placementJSON `json:"replicas,omitempty"`
	}
	deferralJSON struct {
		Job    string `json:"job"`
		Until  string `json:"until"`
		Reason string `json:"reason"`
	}
	reservationJSON struct {
		Job      string   `json:"job"`
		Nodes    []string `json:"nodes"`
		EstStart string   `json:"est_start"`
	}
	pendingJSON struct {
		Job      string `json:"job"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		EstStart string `json:"est_start"`
	}
)

// WriteJSON writes p as indented JSON with stable snake_case field names.
// Lists are never null, so consumers may index them without checks.
func WriteJSON(w io.Writer, p *model.Plan) error {
	out := planJSON{
		Now:          timeJSON(p.Now),
		Partial:      p.Partial,
		Starts:       []startJSON{},
		Recaps:       []recapJSON{},
		Preemptions:  []preemptionJSON{},
		Deferrals:    []deferralJSON{},
		Reservations: []reservationJSON{},
		Pending:      []pendingJSON{},
	}
	for _, s := range p.Starts {
		sj := startJSON{Job: s.Job, Replicas: []placementJSON{}, PowerW: s.PowerW}
		for _, pl := range s.Replicas {
			gpus := append([]int{}, pl.GPUs...)
			sj.Replicas = append(sj.Replicas, placementJSON{Node: pl.Node, GPUs: gpus, PowerCapW: pl.PowerCapW})
		}
		out.Starts = append(out.Starts, sj)
	}
	for _, r := range p.Recaps {
		out.Recaps = append(out.Recaps, recapJSON{Job: r.Job, PowerCapW: r.PowerCapW, PowerW: r.PowerW})
	}
	for _, pr := range p.Preemptions {
		pj := preemptionJSON{
			Victim: pr.Victim, Beneficiary: pr.Beneficiary, Reason: pr.Reason,
			NoticeAt: timeJSON(pr.NoticeAt), EvictAt: timeJSON(pr.EvictAt), LostGPUSeconds: pr.LostGPUSeconds,
		}
		for _, pl := range pr.Replicas {
			pj.Replicas = append(pj.Replicas, placementJSON{Node: pl.Node, GPUs: append([]int{}, pl.GPUs...), PowerCapW: pl.PowerCapW})
		}
		out.Preemptions = append(out.Preemptions, pj)
	}
	for _, d := range p.Deferrals {
		out.Deferrals = append(out.Deferrals, deferralJSON{Job: d.Job, Until: timeJSON(d.Until), Reason: d.Reason})
	}
	for _, r := range p.Reservations {
		nodes := append([]string{}, r.Nodes...)
		out.Reservations = append(out.Reservations, reservationJSON{Job: r.Job, Nodes: nodes, EstStart: timeJSON(r.EstStart)})
	}
	// Everything but the pending list goes through one indented encoding;
	// the pending entries, which can number millions, are streamed after
	// it in exactly the form the encoder would give them.
	head, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	const emptyTail = "\"pending\": []\n}"
	if !bytes.HasSuffix(head, []byte(emptyTail)) {
		return fmt.Errorf("plan: unexpected JSON layout")
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if len(p.Pending) == 0 {
		bw.Write(head)
		bw.WriteString("\n")
		return bw.Flush()
	}
	bw.Write(head[:len(head)-len(emptyTail)])
	bw.WriteString("\"pending\": [\n")
	for i, pe := range p.Pending {
		b, err := json.MarshalIndent(pendingJSON{Job: pe.Job, Code: string(pe.Code), Message: pe.Message, EstStart: timeJSON(pe.EstStart)}, "    ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("    ")
		bw.Write(b)
		if i < len(p.Pending)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}

func timeJSON(t model.Time) string {
	if t == 0 {
		return ""
	}
	return t.String()
}
