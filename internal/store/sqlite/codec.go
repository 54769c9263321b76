package sqlite

import "github.com/carnot-dc/carnot/internal/store/rows"

// The rows as both backends encode them (internal/store/rows).
type (
	jobRow   = rows.Job
	eventRow = rows.Event
)

var (
	parseTime     = rows.ParseTime
	encodeJob     = rows.EncodeJob
	decodeJob     = rows.DecodeJob
	scanJobStates = rows.ScanJobStates
	encodeNode    = rows.EncodeNode
	decodeNode    = rows.DecodeNode
	encodeEvent   = rows.EncodeEvent
	encodeEvents  = rows.EncodeEvents
	encodeUpdate  = rows.EncodeUpdate
)
