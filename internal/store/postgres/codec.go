package postgres

import (
	"strings"

	"github.com/carnot-dc/carnot/internal/store/rows"
)

// The rows as both backends encode them (internal/store/rows).
type (
	jobRow   = rows.Job
	eventRow = rows.Event
)

var (
	parseTime    = rows.ParseTime
	encodeJob    = rows.EncodeJob
	decodeJob    = rows.DecodeJob
	encodeNode   = rows.EncodeNode
	decodeNode   = rows.DecodeNode
	encodeEvent  = rows.EncodeEvent
	encodeEvents = rows.EncodeEvents
	encodeUpdate = rows.EncodeUpdate
)

// hasNUL reports whether one of ss holds the NUL character, which
// PostgreSQL refuses in text: a query given one fails, where no stored
// value can hold it. Reads check it first and answer as for any other
// value nothing has, as the SQLite store does.
func hasNUL(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}
