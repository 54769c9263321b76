package trace

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// table reads a CSV file with a header row, reporting problems to a
// collector with their line and column.
type table struct {
	cr     *csv.Reader
	c      *collector
	col    map[string]int // column index by header name
	header int            // fields in the header
}

// openTable reads the header of r and checks that it names every column
// of want (in any order; other columns are ignored). ok is false when the
// rows cannot be read. A UTF-8 byte-order mark before the header, as
// spreadsheet tools write, is dropped before the CSV parser sees it, so
// that a quoted first header still parses; columns on line 1 do not
// count it.
func openTable(r io.Reader, c *collector, want []string) (t *table, ok bool) {
	return openTableComments(r, c, want, 0)
}

// openTableComments is openTable for a file in which lines starting
// with comment are comments (none when comment is 0).
func openTableComments(r io.Reader, c *collector, want []string, comment rune) (t *table, ok bool) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.Comment = comment
	cr.FieldsPerRecord = -1 // checked here, with a better message
	hint := "the first line must be the header " + strings.Join(want, ",")
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		c.add(1, 0, "", "empty file; %s", hint)
		return nil, false
	case err != nil:
		addReadError(c, err)
		return nil, false
	}
	t = &table{cr: cr, c: c, col: make(map[string]int, len(header)), header: len(header)}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := t.col[h]; dup {
			line, col := cr.FieldPos(i)
			c.add(line, col, h, "column named twice in the header; keep one")
			continue
		}
		t.col[h] = i
	}
	ok = true
	line, _ := cr.FieldPos(0) // blank lines before the header are skipped
	for _, w := range want {
		if _, found := t.col[w]; !found {
			c.add(line, 0, w, "missing column; %s", hint)
			ok = false
		}
	}
	return t, ok && !c.full()
}

// next returns the next row with as many fields as the header, and its
// line; rows with syntax errors or another number of fields are reported
// and skipped. ok is false at the end of the input.
func (t *table) next() (rec []string, line int, ok bool) {
	for {
		r, err := t.cr.Read()
		if errors.Is(err, io.EOF) {
			return nil, 0, false
		}
		if err != nil {
			if !addReadError(t.c, err) {
				return nil, 0, false // an IO error: the reader cannot go on
			}
			continue
		}
		l, _ := t.cr.FieldPos(0)
		if len(r) != t.header {
			t.c.add(l, 1, "", "row has %d fields, the header %d; every row needs one value per header column", len(r), t.header)
			continue
		}
		return r, l, true
	}
}

// pos is the line and column of the named field of the last row.
func (t *table) pos(field string) (line, col int) { return t.cr.FieldPos(t.col[field]) }

// addReadError reports an error of the CSV reader and whether it is a
// syntax error, after which the reader can go on with the next row.
func addReadError(c *collector, err error) bool {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		c.add(0, 0, "", "cannot read: %v", err)
		return false
	}
	line, col, msg := yamlin.CSVSyntax(pe)
	c.add(line, col, "", "%s", msg)
	return true
}
