package postgres

import (
	"strings"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/store/rows"
)

// The rows as both backends encode them (internal/store/rows).
type (
	jobRow   = rows.Job
	eventRow = rows.Event
)

var (
	encodeJob    = rows.EncodeJob
	decodeJob    = rows.DecodeJob
	encodeNode   = rows.EncodeNode
	encodeEvents = rows.EncodeEvents
	encodeUpdate = rows.EncodeUpdate
	encodeCreate = rows.EncodeCreate
)

// unstorable reports whether one of ss holds what PostgreSQL refuses in
// text: the NUL character, or bytes that are not UTF-8. A query given
// such a value fails, where no stored value can hold it: reads check it
// first and answer as for any other value nothing has, as the SQLite
// store does.
func unstorable(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return true
		}
	}
	return false
}
