package api

import (
	"fmt"
	"regexp"
	"strconv"
)

// GapLine is the line a log stream carries where log rotation dropped
// bytes [from, to) of stream before a follower read them (see
// AgentLogsPath). It is not part of the output: offsets do not count it,
// and to is where the output goes on.
func GapLine(stream string, from, to int64) string {
	return fmt.Sprintf("[carnot: %d bytes of %s were dropped by log rotation; the output goes on at byte %d]\n",
		to-from, stream, to)
}

var gapLineRE = regexp.MustCompile(`^\[carnot: [0-9]+ bytes of std(?:out|err) were dropped by log rotation; the output goes on at byte ([0-9]+)\]\n$`)

// MaxGapLine is the longest a GapLine is, newline included.
const MaxGapLine = 160

// ParseGapLine reads a line (newline included) as a GapLine: where the
// output goes on, and whether it is one.
func ParseGapLine(line []byte) (at int64, ok bool) {
	m := gapLineRE.FindSubmatch(line)
	if m == nil {
		return 0, false
	}
	at, err := strconv.ParseInt(string(m[1]), 10, 64)
	return at, err == nil
}
