package plan

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/model"
)

// WriteText renders p as aligned text tables: STARTS, RECAPS,
// PREEMPTIONS, DEFERRALS, RESERVATIONS and PENDING (an empty section is
// left out), then one summary line with the counts (recaps only when
// there are some) and each site's IT power after the plan against its
// envelope. Rows keep the plan's order and times are
// RFC 3339 UTC, so equal plans render to equal bytes. The output has no
// blank lines; golden files rely on that.
//
// The layout is text/tabwriter's (padding 2, blanks), but a table is
// rendered in two passes over its rows, column widths first, so that
// a plan with a million pending jobs streams out without being held as
// text. Output goes through a bufio.Writer unless w is one already; a
// caller's bufio.Writer is left for the caller to flush.
func WriteText(w io.Writer, snap *model.Snapshot, p *model.Plan) error {
	x := newIndex(snap)
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	tw := &textWriter{w: bw}
	for _, t := range tables(x, p) {
		tw.table(t)
	}
	if tw.tab != nil {
		tw.tab.Flush() // an error also stays in bw and is returned below
	}
	if _, err := bw.WriteString(summary(x, snap, p) + "\n"); err != nil {
		return err
	}
	if !ok {
		return bw.Flush()
	}
	return nil
}

// table is one section of the text: a title, the column headers and n
// rows that row renders into cells.
type table struct {
	title  string
	header []string
	n      int
	row    func(i int, c *cells)
}

func tables(x *index, p *model.Plan) []table {
	return []table{
		{"STARTS", []string{"JOB", "TENANT", "REPLICAS", "PLACEMENT", "POWER CAP"}, len(p.Starts), func(i int, c *cells) {
			startRow(c, x, &p.Starts[i])
		}},
		{"RECAPS", []string{"JOB", "TENANT", "FROM", "POWER CAP"}, len(p.Recaps), func(i int, c *cells) {
			recapRow(c, x, &p.Recaps[i])
		}},
		{"PREEMPTIONS", []string{"VICTIM", "FOR", "NOTICE", "EVICT", "LOST GPU-H", "REASON"}, len(p.Preemptions), func(i int, c *cells) {
			pr := &p.Preemptions[i]
			c.str(pr.Victim)
			c.str(orDash(pr.Beneficiary))
			c.time(pr.NoticeAt)
			c.time(pr.EvictAt)
			c.buf = strconv.AppendFloat(c.buf, pr.LostGPUSeconds/3600, 'f', 2, 64)
			c.end()
			c.str(orDash(pr.Reason))
		}},
		{"DEFERRALS", []string{"JOB", "UNTIL", "REASON"}, len(p.Deferrals), func(i int, c *cells) {
			d := &p.Deferrals[i]
			c.str(d.Job)
			c.time(d.Until)
			c.str(orDash(d.Reason))
		}},
		{"RESERVATIONS", []string{"JOB", "EST START", "NODES"}, len(p.Reservations), func(i int, c *cells) {
			r := &p.Reservations[i]
			c.str(r.Job)
			c.time(r.EstStart)
			start := len(c.buf)
			for k, n := range r.Nodes {
				if k > 0 {
					c.buf = append(c.buf, ',')
				}
				c.buf = append(c.buf, n...)
			}
			if len(c.buf) == start {
				c.buf = append(c.buf, '-')
			}
			c.end()
		}},
		{"PENDING", []string{"JOB", "CODE", "EST START", "MESSAGE"}, len(p.Pending), func(i int, c *cells) {
			pe := &p.Pending[i]
			c.str(pe.Job)
			c.str(string(pe.Code))
			c.time(pe.EstStart)
			c.str(orDash(pe.Message))
		}},
	}
}

func startRow(c *cells, x *index, s *model.Start) {
	c.str(s.Job)
	c.str(tenantText(x, s.Job))
	c.buf = strconv.AppendInt(c.buf, int64(len(s.Replicas)), 10)
	c.end()
	for i, pl := range s.Replicas {
		if i > 0 {
			c.buf = append(c.buf, ' ')
		}
		c.buf = append(c.buf, pl.Node...)
		c.buf = append(c.buf, ':')
		c.buf = appendGPUList(c.buf, pl.GPUs)
	}
	c.end()
	c.buf = appendCaps(c.buf, s.Replicas)
	c.end()
}

// tenantText is the tenant of job id as a table shows it: "?" when
// the snapshot lacks the job.
func tenantText(x *index, id string) string {
	if j := x.job(id); j != nil {
		return j.Tenant
	}
	return "?"
}

// appendCaps appends the caps of replicas pls: one when they all run
// under the same, else each in turn, comma-separated; "-" for none.
func appendCaps(b []byte, pls []model.Placement) []byte {
	uniform := true
	for _, pl := range pls {
		uniform = uniform && capOf(pl) == capOf(pls[0])
	}
	switch {
	case len(pls) == 0:
		b = append(b, '-')
	case uniform:
		b = appendCap(b, pls[0])
	default:
		for i, pl := range pls {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCap(b, pl)
		}
	}
	return b
}

// recapRow renders a recap: the job, its tenant, the caps its running
// replicas have now ("?" when it does not run), followed, when some run
// on power a recap lent them, by their own caps, the lowest a recap may
// give them ("650W (own 300W)"), and the cap it gets.
func recapRow(c *cells, x *index, r *model.Recap) {
	c.str(r.Job)
	c.str(tenantText(x, r.Job))
	as := x.running(r.Job)
	var from []model.Placement
	lent := false
	for _, a := range as {
		from = append(from, a.Replicas...)
		for _, pl := range a.Replicas {
			lent = lent || pl.StartCapW > 0
		}
	}
	if len(as) == 0 {
		c.buf = append(c.buf, '?')
	} else {
		c.buf = appendCaps(c.buf, from)
	}
	if lent {
		own := make([]model.Placement, len(from))
		for i := range from {
			own[i].PowerCapW = from[i].OwnCapW()
		}
		c.buf = append(c.buf, " (own "...)
		c.buf = append(appendCaps(c.buf, own), ')')
	}
	c.end()
	c.buf = appendCap(c.buf, model.Placement{PowerCapW: r.PowerCapW})
	c.end()
}

// capOf is the power cap a replica's text shows: 0 for none ("-").
func capOf(pl model.Placement) int { return max(pl.PowerCapW, 0) }

func appendCap(b []byte, pl model.Placement) []byte {
	if pl.PowerCapW <= 0 {
		return append(b, '-')
	}
	return append(strconv.AppendInt(b, int64(pl.PowerCapW), 10), 'W')
}

// cells is one row being rendered: its text in buf, cell i ending at
// ends[i]. Rows reuse one cells value, so rendering allocates nothing
// per row.
type cells struct {
	buf  []byte
	ends []int
}

// reset starts a row; every row is indented by two blanks, which count
// toward the first column's width as they did under tabwriter.
func (c *cells) reset() {
	c.buf = append(c.buf[:0], "  "...)
	c.ends = c.ends[:0]
}

func (c *cells) end()         { c.ends = append(c.ends, len(c.buf)) }
func (c *cells) str(s string) { c.buf = append(c.buf, s...); c.end() }

// time appends t as model.Time.String renders it.
func (c *cells) time(t model.Time) {
	switch {
	case t == 0:
		c.buf = append(c.buf, '-')
	case t >= model.Forever:
		c.buf = append(c.buf, "never"...)
	default:
		c.buf = time.Unix(int64(t), 0).UTC().AppendFormat(c.buf, time.RFC3339)
	}
	c.end()
}

func (c *cells) cell(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.buf[start:c.ends[i]]
}

// textWriter writes the tables. Once a table holds a byte that tabwriter
// treats specially (tab, newline, vertical tab, form feed, its escape
// 0xff), that table and all after it go through a tabwriter, so that even
// such text renders byte for byte as before.
type textWriter struct {
	w      *bufio.Writer
	c      cells
	widths []int
	tab    *tabwriter.Writer
}

const textPadding = 2

func (tw *textWriter) table(t table) {
	if t.n == 0 {
		return
	}
	if tw.tab == nil && !tw.measure(t) {
		tw.tab = tabwriter.NewWriter(tw.w, 0, 0, textPadding, ' ', 0)
	}
	if tw.tab != nil {
		tw.tabbed(t)
		return
	}
	tw.w.WriteString(t.title)
	tw.w.WriteByte('\n')
	tw.headerCells(t)
	tw.writeRow()
	for i := range t.n {
		tw.c.reset()
		t.row(i, &tw.c)
		tw.writeRow()
	}
}

func (tw *textWriter) headerCells(t table) {
	tw.c.reset()
	for _, h := range t.header {
		tw.c.str(h)
	}
}

// measure sets the widths of t's columns (all but the last cell of a
// row, as tabwriter aligns them) and reports whether the fast path can
// render t.
func (tw *textWriter) measure(t table) bool {
	tw.widths = tw.widths[:0]
	for range len(t.header) - 1 {
		tw.widths = append(tw.widths, 0)
	}
	tw.headerCells(t)
	if !tw.measureRow() {
		return false
	}
	for i := range t.n {
		tw.c.reset()
		t.row(i, &tw.c)
		if !tw.measureRow() {
			return false
		}
	}
	return true
}

func (tw *textWriter) measureRow() bool {
	for _, b := range tw.c.buf {
		if (b >= '\t' && b <= '\f') || b == 0xff {
			return false
		}
	}
	if len(tw.c.ends) != len(tw.widths)+1 {
		return false
	}
	for i := range tw.widths {
		tw.widths[i] = max(tw.widths[i], utf8.RuneCount(tw.c.cell(i)))
	}
	return true
}

func (tw *textWriter) writeRow() {
	for i, w := range tw.widths {
		cell := tw.c.cell(i)
		tw.w.Write(cell)
		for range w + textPadding - utf8.RuneCount(cell) {
			tw.w.WriteByte(' ')
		}
	}
	tw.w.Write(tw.c.cell(len(tw.widths)))
	tw.w.WriteByte('\n')
}

// tabbed renders t through the tabwriter, as WriteText always did.
func (tw *textWriter) tabbed(t table) {
	fmt.Fprintln(tw.tab, t.title)
	fmt.Fprintln(tw.tab, "  "+strings.Join(t.header, "\t"))
	for i := range t.n {
		tw.c.reset()
		t.row(i, &tw.c)
		for k := range tw.c.ends {
			if k > 0 {
				tw.tab.Write([]byte{'\t'})
			}
			tw.tab.Write(tw.c.cell(k))
		}
		tw.tab.Write([]byte{'\n'})
	}
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
	if len(p.Recaps) > 0 {
		fmt.Fprintf(&b, ", %d recapped", len(p.Recaps))
	}
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

// appendGPUList appends GPU indices compactly: [0 1 2 3 6] → "0-3,6".
// Indices keep their order; only ascending runs are folded.
func appendGPUList(b []byte, gpus []int) []byte {
	if len(gpus) == 0 {
		return append(b, '-')
	}
	for i := 0; i < len(gpus); {
		j := i
		for j+1 < len(gpus) && gpus[j+1] == gpus[j]+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(gpus[i]), 10)
		if j > i {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(gpus[j]), 10)
		}
		i = j + 1
	}
	return b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
