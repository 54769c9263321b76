package plan

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/carnot-dc/carnot/internal/model"
)

// WriteText renders p as aligned text tables: STARTS, PREEMPTIONS,
// DEFERRALS, RESERVATIONS and PENDING (an empty section is left out),
// then one summary line with the counts and each site's IT power after
// the plan against its envelope. Rows keep the plan's order and times are
// RFC 3339 UTC, so equal plans render to equal bytes. The output has no
// blank lines; golden files rely on that.
func WriteText(w io.Writer, snap *model.Snapshot, p *model.Plan) error {
	x := newIndex(snap)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title, header string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintln(tw, title)
		fmt.Fprintln(tw, "  "+header)
		for _, r := range rows {
			fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
		}
	}
	section("STARTS", "JOB\tTENANT\tREPLICAS\tPLACEMENT\tPOWER CAP", startRows(x, p))
	section("PREEMPTIONS", "VICTIM\tFOR\tNOTICE\tEVICT\tLOST GPU-H\tREASON", preemptionRows(p))
	section("DEFERRALS", "JOB\tUNTIL\tREASON", deferralRows(p))
	section("RESERVATIONS", "JOB\tEST START\tNODES", reservationRows(p))
	section("PENDING", "JOB\tCODE\tEST START\tMESSAGE", pendingRows(p))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, summary(x, snap, p)+"\n")
	return err
}

func startRows(x *index, p *model.Plan) [][]string {
	var rows [][]string
	for _, s := range p.Starts {
		tenant := "?"
		if j := x.job(s.Job); j != nil {
			tenant = j.Tenant
		}
		places := make([]string, len(s.Replicas))
		caps := make([]string, len(s.Replicas))
		uniform := true
		for i, pl := range s.Replicas {
			places[i] = pl.Node + ":" + gpuList(pl.GPUs)
			caps[i] = "-"
			if pl.PowerCapW > 0 {
				caps[i] = strconv.Itoa(pl.PowerCapW) + "W"
			}
			uniform = uniform && caps[i] == caps[0]
		}
		capText := "-"
		if len(caps) > 0 && uniform {
			capText = caps[0]
		} else if len(caps) > 0 {
			capText = strings.Join(caps, ",")
		}
		rows = append(rows, []string{s.Job, tenant, strconv.Itoa(len(s.Replicas)), strings.Join(places, " "), capText})
	}
	return rows
}

func preemptionRows(p *model.Plan) [][]string {
	var rows [][]string
	for _, pr := range p.Preemptions {
		rows = append(rows, []string{pr.Victim, orDash(pr.Beneficiary), pr.NoticeAt.String(), pr.EvictAt.String(),
			strconv.FormatFloat(pr.LostGPUSeconds/3600, 'f', 2, 64), orDash(pr.Reason)})
	}
	return rows
}

func deferralRows(p *model.Plan) [][]string {
	var rows [][]string
	for _, d := range p.Deferrals {
		rows = append(rows, []string{d.Job, d.Until.String(), orDash(d.Reason)})
	}
	return rows
}

func reservationRows(p *model.Plan) [][]string {
	var rows [][]string
	for _, r := range p.Reservations {
		rows = append(rows, []string{r.Job, r.EstStart.String(), orDash(strings.Join(r.Nodes, ","))})
	}
	return rows
}

func pendingRows(p *model.Plan) [][]string {
	var rows [][]string
	for _, pe := range p.Pending {
		rows = append(rows, []string{pe.Job, string(pe.Code), pe.EstStart.String(), orDash(pe.Message)})
	}
	return rows
}

// summary is the last line: counts, GPUs started and power per site.
func summary(x *index, snap *model.Snapshot, p *model.Plan) string {
	gpus := 0
	for _, s := range p.Starts {
		for _, pl := range s.Replicas {
			gpus += len(pl.GPUs)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "summary: %d started (%d GPUs), %d pending, %d preempted, %d deferred",
		len(p.Starts), gpus, len(p.Pending), len(p.Preemptions), len(p.Deferrals))
	load := x.load(snap, p)
	for _, s := range x.fac.Sites {
		env := "-"
		if s.PowerEnvelopeKW > 0 {
			env = strconv.FormatFloat(s.PowerEnvelopeKW, 'f', 1, 64)
		}
		fmt.Fprintf(&b, "; %s %.1f/%s kW", s.ID, load.Site[s.ID]/1000, env)
	}
	if p.Partial {
		b.WriteString("; partial pass: jobs not listed keep their last reason")
	}
	return b.String()
}

// gpuList renders GPU indices compactly: [0 1 2 3 6] → "0-3,6". Indices
// keep their order; only ascending runs are folded.
func gpuList(gpus []int) string {
	if len(gpus) == 0 {
		return "-"
	}
	var parts []string
	for i := 0; i < len(gpus); {
		j := i
		for j+1 < len(gpus) && gpus[j+1] == gpus[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(gpus[i]))
		default:
			parts = append(parts, strconv.Itoa(gpus[i])+"-"+strconv.Itoa(gpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
