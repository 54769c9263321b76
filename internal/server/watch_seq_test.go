package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// openStream opens /v1/watch (with query q and headers, as key and
// value pairs) on hs and sends each event it carries on the returned
// channel, which is closed when the stream ends; stop ends it.
func openStream(t *testing.T, hs *httptest.Server, q string, header ...string) (evs <-chan api.Event, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/v1/watch"+q, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		t.Fatalf("/v1/watch%s: %d", q, resp.StatusCode)
	}
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": watching") {
		cancel()
		resp.Body.Close()
		t.Fatalf("stream starts with %q, %v", line, err)
	}
	ch := make(chan api.Event, 1<<16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var ev api.Event
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Errorf("stream data %q: %v", data, err)
					return
				}
				ch <- ev
			}
		}
	}()
	t.Cleanup(cancel)
	return ch, cancel
}

// storedEvents reads every event after after from /v1/events on hs.
func storedEvents(t *testing.T, hs *httptest.Server, after int64) []api.Event {
	t.Helper()
	var all []api.Event
	for {
		resp, err := hs.Client().Get(fmt.Sprintf("%s/v1/events?after=%d&limit=10000", hs.URL, after))
		if err != nil {
			t.Fatal(err)
		}
		var page api.EventList
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/v1/events?after=%d: %d %v", after, resp.StatusCode, err)
		}
		if len(page.Events) == 0 {
			return all
		}
		all = append(all, page.Events...)
		after = page.Events[len(page.Events)-1].Seq
	}
}

// churn drives hs as many clients and agents at once: submitters,
// a canceller, an agent that reports its tasks exited, an operator
// minting tokens and submitting jobs that are refused, and the
// scheduler's passes, until every submitter has submitted perSubmitter
// jobs. It returns once all of them are done.
func churn(t *testing.T, e *env, hs *httptest.Server, submitters, perSubmitter int) {
	t.Helper()
	post := func(path string, body any) (int, []byte) {
		b, _ := json.Marshal(body)
		resp, err := hs.Client().Post(hs.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Errorf("POST %s: %v", path, err)
			return 0, nil
		}
		defer resp.Body.Close()
		var out bytes.Buffer
		out.ReadFrom(resp.Body)
		return resp.StatusCode, out.Bytes()
	}
	ids := make(chan string, submitters*perSubmitter)
	done := make(chan struct{})
	var wg, helpers sync.WaitGroup
	for range submitters {
		wg.Go(func() {
			for range perSubmitter {
				code, b := post("/v1/jobs", spec(1, 1))
				var j api.Job
				if code != http.StatusCreated || json.Unmarshal(b, &j) != nil {
					t.Errorf("submit: %d %s", code, b)
					return
				}
				ids <- j.ID
			}
		})
	}
	helpers.Go(func() { // the canceller: every third job
		n := 0
		for {
			select {
			case <-done:
				return
			case id := <-ids:
				if n++; n%3 == 0 {
					post("/v1/jobs/"+id+"/cancel", nil)
				}
			}
		}
	})
	helpers.Go(func() { // tokens and refused submissions: events of no job
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			default:
			}
			if code, b := post("/v1/tokens", api.TokenRequest{Name: fmt.Sprint("t", n), Role: "member", Tenant: "default"}); code != http.StatusCreated {
				t.Errorf("token: %d %s", code, b)
				return
			}
			if code, _ := post("/v1/jobs", spec(1, 1, "tenant", "nobody")); code != http.StatusBadRequest {
				t.Errorf("a submission for an unknown tenant: %d, want 400", code)
				return
			}
		}
	})
	helpers.Go(func() { // the scheduler loop
		for {
			select {
			case <-done:
				return
			default:
				e.s.pass(context.Background())
			}
		}
	})
	helpers.Go(func() { // n1's agent: every task exits at once
		for {
			select {
			case <-done:
				return
			default:
			}
			resp, err := hs.Client().Get(hs.URL + "/v1/agent/nodes/n1/assignments")
			if err != nil {
				t.Errorf("assignments: %v", err)
				return
			}
			var a api.Assignments
			json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			var hb api.Heartbeat
			for _, tk := range a.Tasks {
				hb.Tasks = append(hb.Tasks, exited(tk.Job, tk.Replica, tk.Attempt, 0))
			}
			post("/v1/agent/nodes/n1/heartbeat", hb)
		}
	})
	wg.Wait()
	close(done)
	helpers.Wait()
}

// checkStream reads evs until it has carried want's last event, and
// reports whether it carried exactly want, in order.
func checkStream(t *testing.T, evs <-chan api.Event, want []api.Event) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("no events to expect")
	}
	last := want[len(want)-1].Seq
	var got []api.Event
	timeout := time.After(20 * time.Second)
	for len(got) == 0 || got[len(got)-1].Seq < last {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("the stream ended after %d of %d events", len(got), len(want))
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("the stream carried %d of %d events in 20 s", len(got), len(want))
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("the stream carried seq %d (%s of %s) after seq %d (%s of %s); want increasing seq",
				got[i].Seq, got[i].Type, got[i].Job, got[i-1].Seq, got[i-1].Type, got[i-1].Job)
		}
	}
	if g, w := seqsOf(got), seqsOf(want); fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("the stream carried %d events, /v1/events holds %d:\n got %v\nwant %v", len(g), len(w), g, w)
	}
}

// Many submissions, cancellations and agent reports at once, through
// the HTTP API on a SQLite store: the watch stream carries every event
// /v1/events holds, in increasing seq order, so that a watcher that
// resumes after the last seq it saw misses nothing.
func TestWatchCarriesEveryEventInSeqOrder(t *testing.T) {
	e := devEnv(t)
	hs := httptest.NewServer(e.h)
	t.Cleanup(hs.Close) // after the stream's
	before := storedEvents(t, hs, 0)
	evs, _ := openStream(t, hs, "")
	churn(t, e, hs, 16, 25)
	checkStream(t, evs, storedEvents(t, hs, before[len(before)-1].Seq))
}

// A watcher that disconnects in the middle of the churn and resumes
// after the last seq it saw, with after= and then with the
// Last-Event-ID an EventSource sends, misses nothing and sees nothing
// twice.
func TestWatchResumesWithoutLoss(t *testing.T) {
	e := devEnv(t)
	hs := httptest.NewServer(e.h)
	t.Cleanup(hs.Close) // after the streams'
	before := storedEvents(t, hs, 0)
	evs, stop := openStream(t, hs, "")
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		churn(t, e, hs, 8, 40)
	}()
	t.Cleanup(func() { <-churned }) // before hs closes
	var got []api.Event
	// take n events from evs, then stop it
	take := func(evs <-chan api.Event, stop func(), n int) {
		t.Helper()
		for range n {
			select {
			case ev, ok := <-evs:
				if !ok {
					t.Fatalf("the stream ended after %d events", len(got))
				}
				got = append(got, ev)
			case <-time.After(20 * time.Second):
				t.Fatalf("no event in 20 s after %d", len(got))
			}
		}
		stop()
	}
	take(evs, stop, 50)
	after := got[len(got)-1].Seq
	evs, stop = openStream(t, hs, fmt.Sprintf("?after=%d", after))
	take(evs, stop, 100)
	last := got[len(got)-1].Seq
	evs, _ = openStream(t, hs, "", "Last-Event-ID", fmt.Sprint(last))
	<-churned
	want := storedEvents(t, hs, before[len(before)-1].Seq)
	rest := want[len(got):]
	if len(rest) == 0 {
		t.Fatalf("the churn made %d events, all seen before the last resume; make more", len(want))
	}
	if g, w := fmt.Sprint(seqsOf(got)), fmt.Sprint(seqsOf(want[:len(got)])); g != w {
		t.Fatalf("before the last resume the streams carried\n %v\nwant\n %v", g, w)
	}
	checkStream(t, evs, rest)
}

func seqsOf(evs []api.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

// lostAnswerStore, while lose is set, saves a submission but answers an
// error, as a database whose connection dropped after the commit does.
type lostAnswerStore struct {
	store.Store
	lose atomic.Bool
}

func (l *lostAnswerStore) CreateJob(ctx context.Context, j *api.Job, key string, ev *api.Event) (string, bool, error) {
	id, created, err := l.Store.CreateJob(ctx, j, key, ev)
	if err == nil && l.lose.Load() {
		return "", false, errors.New("connection reset by peer")
	}
	return id, created, err
}

// A submission saved but answered with an error has a seq the stream
// never carries: the stream ends there, and the watcher resuming with
// after= gets the submission from the store.
func TestWatchEndsAtAnEventItCannotCarry(t *testing.T) {
	e := devEnv(t)
	ls := &lostAnswerStore{Store: e.s.store}
	e.s.store = ls
	hs := httptest.NewServer(e.h)
	t.Cleanup(hs.Close) // after the streams'
	evs, _ := openStream(t, hs, "")
	first := e.submit(spec(1, 1))
	ev := <-evs
	if ev.Job != first {
		t.Fatalf("the stream carried %+v first, want the submission of %s", ev, first)
	}
	ls.lose.Store(true)
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "lost"), nil); code != http.StatusServiceUnavailable {
		t.Fatalf("a submission whose answer was lost: %d, want 503", code)
	}
	ls.lose.Store(false)
	second := e.submit(spec(1, 1))
	for ev := range evs {
		t.Fatalf("the stream went on with %s of %s", ev.Type, ev.Job)
	}
	resumed, _ := openStream(t, hs, fmt.Sprintf("?after=%d", ev.Seq))
	for _, want := range []string{"lost", second} {
		if got := <-resumed; got.Job != want || got.Type != api.EventSubmitted {
			t.Fatalf("the resumed stream carried %s of %s, want the submission of %s", got.Type, got.Job, want)
		}
	}
}
