package server

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/store"
)

// A previous token key dropped from the server's configuration ends the
// tokens made under it as surely as a revocation: the start that no
// longer has it records it in the audit log, naming the key ID; a start
// that keeps the same keys records nothing.
func TestDroppedPreviousTokenKeyIsAudited(t *testing.T) {
	older := bytes.Repeat([]byte{3}, 32)
	olderID, err := TokenKeyIDOf(older)
	if err != nil {
		t.Fatal(err)
	}
	start := func(st store.Store, previous ...[]byte) *Server {
		t.Helper()
		s, err := New(context.Background(), Config{Facility: DevFacility("local", "FR"), Store: st,
			TokenKey: testTokenKey, PreviousTokenKeys: previous})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t).open
			st := open()
			start(st, older)
			st.Close()
			st = open()
			start(st, older)
			if evs := tokenKeyEvents(t, st); len(evs) != 0 {
				t.Fatalf("a start with the same keys recorded %q", evs)
			}
			st.Close()
			st = open()
			start(st)
			evs := tokenKeyEvents(t, st)
			if len(evs) != 1 || !strings.Contains(evs[0], olderID) || !strings.Contains(evs[0], "no longer authenticate") {
				t.Fatalf("the previous key dropped: %q, want one event naming %s", evs, olderID)
			}
		})
	}
}

// tokenKeyEvents are the messages of the events of the token key.
func tokenKeyEvents(t *testing.T, st store.Store) []string {
	t.Helper()
	evs, err := st.Events(context.Background(), store.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Actor == "server:token-key" {
			out = append(out, ev.Message)
		}
	}
	return out
}
