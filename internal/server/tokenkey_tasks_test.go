package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A token key retired while tasks started under it still run: the start
// that drops it says, in its audit event and its log, how many running
// attempts hold job tokens of it, naming them, and that their checkpoint
// reports will be refused; an attempt started under the new key is not
// counted, and its token holds. A change of key (no previous key kept)
// says so of the attempts started under the key it replaces, not again
// of those whose tokens were lost before.
func TestRetiredTokenKeyCountsRunningAttempts(t *testing.T) {
	newKey := bytes.Repeat([]byte{9}, 32)
	oldID, err := TokenKeyIDOf(testTokenKey)
	if err != nil {
		t.Fatal(err)
	}
	e := devEnv(t)
	old := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", running(old, 0, 1))
	oldTok := taskToken(e, old)
	e.s.store.Close()

	e.clock.add(time.Minute) // rotated: the old key is a previous one
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) {
		c.TokenKey, c.PreviousTokenKeys = newKey, [][]byte{testTokenKey}
	})
	e.report("n1", running(old, 0, 1))
	fresh := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", running(old, 0, 1), running(fresh, 0, 1))
	freshTok := taskToken(e, fresh)
	e.s.store.Close()

	e.clock.add(time.Minute) // retired
	var logs bytes.Buffer
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) {
		c.TokenKey = newKey
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	e.report("n1", running(old, 0, 1), running(fresh, 0, 1))
	evs := tokenKeyEvents(t, e.s.store)
	if len(evs) == 0 {
		t.Fatal("no event of the retired key")
	}
	want := "1 running attempt (job " + old + ", attempt 1) holds job tokens of it"
	for what, text := range map[string]string{"its event": evs[len(evs)-1], "the log": logs.String()} {
		if !strings.Contains(text, oldID) || !strings.Contains(text, want) || !strings.Contains(text, "checkpoint reports") || strings.Contains(text, fresh) {
			t.Errorf("%s of the retired key: %q; want it to name %s, say %q and the checkpoint reports refused, and not name %s", what, text, oldID, want, fresh)
		}
	}
	if code, _ := e.doWith(bearer(oldTok), "POST", "/v1/jobs/"+old+"/checkpoint", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the job token of the retired key: %d; want 401", code)
	}
	if code, body := e.doWith(bearer(freshTok), "POST", "/v1/jobs/"+fresh+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the job token of the new key: %d %s; want 200", code, body)
	}
	e.s.store.Close()

	e.clock.add(time.Minute) // changed
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) { c.TokenKey = bytes.Repeat([]byte{7}, 32) })
	evs = tokenKeyEvents(t, e.s.store)
	want = "token key changed"
	if last := evs[len(evs)-1]; !strings.Contains(last, want) || !strings.Contains(last, "1 running attempt (job "+fresh+", attempt 1) holds job tokens of it") {
		t.Errorf("the event of the key change: %q; want it to name %s's attempt alone", last, fresh)
	}
}
