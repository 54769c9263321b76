package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/carnot-dc/carnot/internal/store"
)

// startRecord reads the record kind/key that a start compares itself
// with (the policy, the terms, the leader last in force, the facility
// events of the last start), described as
// what, and reports whether there was one. Such a record only tells what
// changed since the last start: one that cannot be decoded (edited in
// the database) is logged and taken for none, to be recorded afresh,
// never a reason not to start. A store that cannot be read is an error.
func startRecord[T any](ctx context.Context, s *Server, kind, key, what string) (T, bool, error) {
	var v T
	doc, err := s.store.Record(ctx, kind, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return v, false, nil
	case err != nil:
		return v, false, fmt.Errorf("server: reading %s: %w", what, err)
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		s.unreadableRecord(kind, key, what, err)
		var zero T
		return zero, false, nil
	}
	return v, true, nil
}

// unreadableRecord logs that the record kind/key of what is not readable.
func (s *Server) unreadableRecord(kind, key, what string, err error) {
	s.log.Error("the record of "+what+" is not readable (edited in the database?): it is taken for none and recorded afresh, "+
		"so what changed since the last start is not compared with it", "record", kind+"/"+key, "err", err)
}
