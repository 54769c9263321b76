package sqlite

import "github.com/carnot-dc/carnot/internal/store/rows"

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
