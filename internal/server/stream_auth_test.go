package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// watchAs opens /v1/watch on hs with tok and returns its reader, past
// the stream's first line.
func watchAs(t *testing.T, hs *httptest.Server, tok string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequest("GET", hs.URL+"/v1/watch", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/v1/watch: %d", resp.StatusCode)
	}
	deadline := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	t.Cleanup(func() { deadline.Stop() })
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": watching") {
		t.Fatalf("stream starts with %q, %v", line, err)
	}
	return rd
}

// streamedJob reads the stream until it ends and reports whether an
// event of job went through.
func streamedJob(rd *bufio.Reader, job string) bool {
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return false
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"job":"`+job+`"`) {
			return true
		}
	}
}

// A watch stream opened with a token that is then revoked carries
// nothing more: revocation takes effect at once on this server, streams
// included.
func TestWatchEndsWhenTokenRevoked(t *testing.T) {
	e := secEnv(t)
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close) // after the stream's own cleanups
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "watcher", Role: "member", Tenant: "a"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	rd := watchAs(t, hs, tok.Secret)
	if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	ja := e.submit(jobOf("a"))
	if streamedJob(rd, ja) {
		t.Errorf("a revoked token's watch stream carried job %s, submitted after the revocation", ja)
	}
}

// Nor does a stream outlive its token's expiry.
func TestWatchEndsWhenTokenExpires(t *testing.T) {
	e := secEnv(t)
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close) // after the stream's own cleanups
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "watcher", Role: "member", Tenant: "a", TTLSeconds: 60}, "test")
	if err != nil {
		t.Fatal(err)
	}
	rd := watchAs(t, hs, tok.Secret)
	e.clock.add(2 * time.Minute)
	ja := e.submit(jobOf("a"))
	if streamedJob(rd, ja) {
		t.Errorf("an expired token's watch stream carried job %s", ja)
	}
}

// A followed log stops at its token's revocation: what the replica
// writes after it does not reach the revoked token.
func TestFollowedLogEndsWhenTokenRevoked(t *testing.T) {
	e := devEnv(t)
	more := make(chan struct{})
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		io.WriteString(w, "before\n")
		fl.Flush()
		select {
		case <-more:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "after\n")
		fl.Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)

	resp, tok := followAsMember(t, e, id)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("logs: %d %s", resp.StatusCode, b)
	}
	deadline := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	t.Cleanup(func() { deadline.Stop() })
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); line != "before\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	close(more)
	if line, _ := rd.ReadString('\n'); line != "" {
		t.Errorf("a revoked token's followed log went on with %q", line)
	}
}

// slowTokenStore answers the first read of one token record with what
// it held then, but only once release is closed: a request that read the
// record just before a revocation and returns after it.
type slowTokenStore struct {
	store.Store
	id      string
	once    sync.Once
	reading chan struct{}
	release chan struct{}
}

func (s *slowTokenStore) Record(ctx context.Context, kind, key string) ([]byte, error) {
	doc, err := s.Store.Record(ctx, kind, key)
	if kind == recToken && key == s.id {
		first := false
		s.once.Do(func() { first = true })
		if first {
			close(s.reading)
			<-s.release
		}
	}
	return doc, err
}

// A token record read before its revocation and cached after it must not
// bring the token back: revocation takes effect at once on this server.
func TestRevocationNotUndoneByAReadInFlight(t *testing.T) {
	e := devEnv(t)
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowTokenStore{Store: e.s.store, id: tok.ID, reading: make(chan struct{}), release: make(chan struct{})}
	e.s.store = slow
	whoami := func() int { return whoamiCode(e, tok.Secret) }
	inFlight := make(chan int)
	go func() { inFlight <- whoami() }()
	<-slow.reading
	if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	close(slow.release)
	<-inFlight // began before the revocation: either answer is right
	if code := whoami(); code != http.StatusUnauthorized {
		t.Errorf("the revoked token after a read in flight during the revocation: %d, want 401", code)
	}
}

// The server does not follow a redirect from a node's log server: a
// node could otherwise point it at any address of the control plane's
// network and have the tenant read the answer.
func TestLogsDoNotFollowRedirects(t *testing.T) {
	e := devEnv(t)
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal-secret\n")
	}))
	t.Cleanup(secret.Close)
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, secret.URL, http.StatusFound)
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)
	w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil)
	if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "internal-secret") {
		t.Fatalf("logs through a redirecting node: %d %q", w.Code, w.Body.String())
	}
}

// The server passes on what the node's agent says of the output it no
// longer keeps (the beginning of a rotated log).
func TestLogsPassOnWhatWasDropped(t *testing.T) {
	e := devEnv(t)
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.LogDroppedHeader, "4096")
		io.WriteString(w, "the end\n")
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)
	w := e.raw("GET", "/v1/jobs/"+id+"/logs", nil)
	if w.Code != http.StatusOK || w.Body.String() != "the end\n" || w.Header().Get(api.LogDroppedHeader) != "4096" {
		t.Errorf("logs: %d %q, %s %q; want the body and 4096", w.Code, w.Body.String(), api.LogDroppedHeader, w.Header().Get(api.LogDroppedHeader))
	}
}

// runningWithLogsAt registers n1 with its log server at addr and has a
// one-GPU job running there; it returns the job's ID.
func runningWithLogsAt(t *testing.T, e *env, addr string) string {
	t.Helper()
	reg := api.Register{Name: "n1", Site: "local", Address: addr, CPUs: 32, MemoryGiB: 256,
		GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		t.Fatalf("register: %d", code)
	}
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	return id
}

// A malformed offset is the caller's mistake, answered 400 naming it,
// not forwarded to the node, whose refusal came back as 503 (the
// server unavailable).
func TestLogsBadOffsetIsTheCallers(t *testing.T) {
	e := devEnv(t)
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// as the agent answers (internal/agent/logs.go)
		http.Error(w, "offset \""+r.URL.Query().Get("offset")+"\": want a byte count", http.StatusBadRequest)
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)
	for _, off := range []string{"abc", "-1"} {
		w := e.raw("GET", "/v1/jobs/"+id+"/logs?offset="+off, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"field":"offset"`) {
			t.Errorf("offset=%s: %d %s; want 400 naming offset", off, w.Code, w.Body)
		}
	}
}

// The logs of an earlier attempt come from the node that ran it, not
// from the node of the current attempt.
func TestLogsOfAnEarlierAttemptComeFromItsNode(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	logsOf := func(node string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, node+" attempt "+r.URL.Query().Get("attempt")+"\n")
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	reg := api.Register{Name: "n1", Site: "local", Address: logsOf("n1"), CPUs: 32, MemoryGiB: 256,
		GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		t.Fatalf("register n1: %d", code)
	}
	id := e.submit(spec(1, 1, "restart", "on-failure", "max_retries", 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	// it read "has had 1 attempts"
	if w := e.raw("GET", "/v1/jobs/"+id+"/logs?attempt=9", nil); w.Code != 404 || !strings.Contains(w.Body.String(), "has had 1 attempt, not 9") {
		t.Errorf("logs?attempt=9 of a first attempt: %d %s; want 404 saying it has had 1 attempt", w.Code, w.Body)
	}
	e.report("n1", exited(id, 0, 1, 3))
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain n1: %d", code)
	}
	reg = api.Register{Name: "n2", Site: "local", Address: logsOf("n2"), CPUs: 32, MemoryGiB: 256,
		GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		t.Fatalf("register n2: %d", code)
	}
	e.pass()
	if j := e.job(id); j.Attempt != 2 || j.Replicas[0].Node != "n2" {
		t.Fatalf("second attempt: attempt %d on %+v; want 2 on n2", j.Attempt, j.Replicas)
	}
	e.report("n2", running(id, 0, 2))
	for q, want := range map[string]string{"?attempt=1": "n1 attempt 1\n", "?attempt=2": "n2 attempt 2\n", "": "n2 attempt 2\n"} {
		w := e.raw("GET", "/v1/jobs/"+id+"/logs"+q, nil)
		if w.Code != 200 || w.Body.String() != want {
			t.Errorf("logs%s: %d %q; want %q", q, w.Code, w.Body.String(), want)
		}
	}
	// An attempt there has not been is a 404 that counts them in words
	w9 := e.raw("GET", "/v1/jobs/"+id+"/logs?attempt=9", nil)
	if w9.Code != 404 || !strings.Contains(w9.Body.String(), "has had 2 attempts, not 9") {
		t.Errorf("logs?attempt=9: %d %s; want 404 saying it has had 2 attempts", w9.Code, w9.Body)
	}
	// An attempt the server kept no node for is a clear 404.
	e.s.mu.Lock()
	e.s.jobs[id].doc.PastAttempts = nil
	e.s.mu.Unlock()
	w := e.raw("GET", "/v1/jobs/"+id+"/logs?attempt=1", nil)
	if w.Code != 404 || !strings.Contains(w.Body.String(), "attempt 1") {
		t.Errorf("logs of an attempt of unknown node: %d %s; want 404 saying so", w.Code, w.Body)
	}
}

// A followed log that has nothing to send ends at its token's revocation
// too, as a watch does at its next keep-alive: it does not wait for the
// replica's next output, and it lets go of the node's log server.
func TestIdleFollowedLogEndsWhenTokenRevoked(t *testing.T) {
	e := devEnv(t)
	e.s.streamCheck = 20 * time.Millisecond
	upstreamDone := make(chan struct{})
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "before\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a replica that writes nothing more
		close(upstreamDone)
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)
	resp, tok := followAsMember(t, e, id)
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); resp.StatusCode != http.StatusOK || line != "before\n" {
		t.Fatalf("logs: %d, first line %q, %v", resp.StatusCode, line, err)
	}
	if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	ended := make(chan error, 1)
	go func() { _, err := rd.ReadString('\n'); ended <- err }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		resp.Body.Close()
		t.Fatal("a revoked token's idle followed log was still open 5 s after the revocation")
	}
	select {
	case <-upstreamDone:
	case <-time.After(5 * time.Second):
		t.Error("the server still holds the node's log stream 5 s after the revocation")
	}
}

// Followed logs hold a connection to a node's agent each: a tenant (all
// its tokens together) may hold MaxFollows open at once, and gets 429
// beyond that until one closes; a plain read is not counted.
func TestFollowedLogsPerTenantAreBounded(t *testing.T) {
	e := devEnv(t)
	e.s.cfg.MaxFollows = 2
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "line\n")
		w.(http.Flusher).Flush()
		if r.URL.Query().Get("follow") == "true" {
			<-r.Context().Done()
		}
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close)
	open := func(secret, query string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/v1/jobs/"+id+"/logs"+query, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var secrets []string
	for _, name := range []string{"r1", "r2", "r3"} {
		tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: name, Role: "member", Tenant: "default"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok.Secret)
	}
	first, second := open(secrets[0], "?follow=true"), open(secrets[1], "?follow=true")
	for _, r := range []*http.Response{first, second} {
		if r.StatusCode != http.StatusOK {
			t.Fatalf("a followed log within the bound: %d", r.StatusCode)
		}
	}
	third := open(secrets[2], "?follow=true")
	third.Body.Close()
	if third.StatusCode != http.StatusTooManyRequests || third.Header.Get("Retry-After") == "" {
		t.Fatalf("a third followed log of one tenant: %d, want 429 with Retry-After", third.StatusCode)
	}
	if plain := open(secrets[2], ""); plain.StatusCode != http.StatusOK {
		t.Fatalf("a plain read beside two followed logs: %d", plain.StatusCode)
	} else {
		plain.Body.Close()
	}
	first.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := open(secrets[2], "?follow=true")
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one closed, a new followed log still gets %d", r.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	second.Body.Close()
}

// followAsMember follows job id's log through the server with a new
// member token of tenant default, which it returns with the response.
func followAsMember(t *testing.T, e *env, id string) (*http.Response, api.Token) {
	t.Helper()
	hs := httptest.NewServer(e.s.Handler())
	t.Cleanup(hs.Close)
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "reader", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", hs.URL+"/v1/jobs/"+id+"/logs?follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Secret)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, tok
}

// A log request that waits for its replica to start answers nothing of
// the job once its token is revoked during the wait: revocation takes
// effect at once on this server, for a request in flight too, and the
// node's log server is not asked.
func TestLogsWaitingForTheStartEndWhenTokenRevoked(t *testing.T) {
	e := devEnv(t)
	var asked sync.Once
	askedNode := make(chan struct{})
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Do(func() { close(askedNode) })
		io.WriteString(w, "the output\n")
	}))
	t.Cleanup(agentLogs.Close)
	reg := api.Register{Name: "n1", Site: "local", Address: agentLogs.URL, CPUs: 32, MemoryGiB: 256,
		GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		t.Fatalf("register: %d", code)
	}
	id := e.submit(spec(1, 1))
	e.pass() // assigned, not started
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "reader", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowTokenStore{Store: e.s.store, id: tok.ID, reading: make(chan struct{}), release: make(chan struct{})}
	e.s.store = slow
	close(slow.release) // only to know when the request is authenticated
	got := make(chan *httptest.ResponseRecorder)
	go func() {
		req := httptest.NewRequest("GET", "/v1/jobs/"+id+"/logs", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		w := httptest.NewRecorder()
		e.s.Handler().ServeHTTP(w, req)
		got <- w
	}()
	<-slow.reading
	time.Sleep(100 * time.Millisecond) // into the wait for the start
	if code := e.do("POST", "/v1/tokens/"+tok.ID+"/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	e.report("n1", running(id, 0, 1))
	w := <-got
	if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "the output") {
		t.Errorf("logs of a token revoked while waiting for the start: %d %q; want 401", w.Code, w.Body.String())
	}
	select {
	case <-askedNode:
		t.Errorf("the node's log server was asked for a revoked token's request")
	default:
	}
}

// A revocation whose path holds a whole token (carnot_ID_SECRET, pasted
// by a client) revokes the token of that ID, and no answer repeats the
// secret, the 404 of an unknown token included.
func TestRevokeByAWholeTokenEchoesNoSecret(t *testing.T) {
	e := devEnv(t)
	tok, err := e.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := strings.Cut(strings.TrimPrefix(tok.Secret, "carnot_"), "_")
	w := e.raw("POST", "/v1/tokens/"+tok.Secret+"/revoke", nil)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), secret) {
		t.Errorf("revoke by the whole token: %d %s; want 200 without the secret", w.Code, w.Body)
	}
	if code := whoamiCode(e, tok.Secret); code != http.StatusUnauthorized {
		t.Errorf("the token after its revocation by its whole text: %d, want 401", code)
	}
	unknown := "carnot_0123456789abcdef_" + secret
	w = e.raw("POST", "/v1/tokens/"+unknown+"/revoke", nil)
	if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), secret) {
		t.Errorf("revoke of an unknown whole token: %d %s; want 404 without the secret", w.Code, w.Body)
	}
}
