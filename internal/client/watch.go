package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
)

// EventStream reads the server's events as they happen, from a
// text/event-stream (server-sent events) answer.
type EventStream struct {
	body io.ReadCloser
	r    *bufio.Reader
	// LastID is the id: field of the last event read, if the server sends
	// them.
	LastID string
}

// Watch opens the server's live event stream (GET /v1/watch). Read it
// with Next and close it when done; it also ends with ctx.
func (c *Client) Watch(ctx context.Context) (*EventStream, error) { return c.WatchAfter(ctx, 0) }

// WatchAfter opens the live event stream from the event after sequence
// number after (0: from now): the server first sends the stored events
// after it, then the new ones, in seq order with none left out, so a
// stream that ended is resumed without loss with the last seq read.
func (c *Client) WatchAfter(ctx context.Context, after int64) (*EventStream, error) {
	body, err := c.stream(ctx, &request{method: http.MethodGet, path: "/v1/watch", query: afterQuery(after),
		header: http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}}})
	if err != nil {
		return nil, err
	}
	return NewEventStream(body), nil
}

// NewEventStream reads events from an SSE body.
func NewEventStream(body io.ReadCloser) *EventStream {
	return &EventStream{body: body, r: bufio.NewReaderSize(body, 64<<10)}
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }

// Next returns the next event. It skips comments (keep-alives) and
// messages without a JSON object, and returns io.EOF when the server ends
// the stream.
func (s *EventStream) Next() (api.Event, error) {
	var data bytes.Buffer
	for {
		line, err := s.r.ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			// An event not ended by a blank line is dropped, as the
			// SSE specification says.
			return api.Event{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if ev, ok, derr := decodeEvent(data.Bytes()); derr != nil || ok {
				return ev, derr
			}
			data.Reset()
			if err != nil {
				return api.Event{}, err
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "": // a comment
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		case "id":
			s.LastID = value
		}
		if err != nil {
			return api.Event{}, err
		}
	}
}

// decodeEvent decodes one message's data; ok is false for a message that
// carries no event.
func decodeEvent(data []byte) (api.Event, bool, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return api.Event{}, false, nil
	}
	var ev api.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return api.Event{}, false, fmt.Errorf("watch: cannot decode an event: %w", err)
	}
	return ev, true, nil
}
