package yamlin

import (
	"encoding/csv"
	"errors"
	"fmt"
)

// CSVSyntax puts a syntax error of encoding/csv in words that say what
// to fix, for the CSV loaders (internal/trace, internal/grid): line and
// col are where to point (col 0: the whole line). A quote left open
// takes the lines after it into its value and the reader gives up at the
// file's end, so the error points at the line the quote opens on.
func CSVSyntax(pe *csv.ParseError) (line, col int, msg string) {
	const closeQuote = `end it with '"' right before the ',' or the line end, and double any '"' inside it`
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return pe.Line, pe.Column, `a '"' inside an unquoted value; quote the whole value and double the '"' inside it`
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine > 0 && pe.StartLine < pe.Line:
		return pe.StartLine, 0, fmt.Sprintf("a quoted value that opens on this line is not closed (the reader looked for its end up to line %d); %s", pe.Line, closeQuote)
	case errors.Is(pe.Err, csv.ErrQuote):
		return pe.Line, pe.Column, "a quoted value is not closed properly; " + closeQuote
	}
	return pe.Line, pe.Column, pe.Err.Error()
}
