package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// tenantServer is a real server on the SQLite database in dir, its
// tenant listener at url; stop closes it.
type tenantServer struct {
	s    *server.Server
	url  string
	stop func()
}

// openTenantServer opens a server with cfg (the dev facility and a test
// token key unless set) on the store in dir, listening on listen
// (host:port; "" for any port).
func openTenantServer(t *testing.T, dir, listen string, cfg server.Config) *tenantServer {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = db
	if cfg.Facility == nil {
		cfg.Facility = server.DevFacility("local", "FR")
	}
	if cfg.TokenKey == nil {
		cfg.TokenKey = bytes.Repeat([]byte{7}, 32)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	var ln net.Listener
	for range 50 { // the port of a server just stopped may take a moment
		if ln, err = net.Listen("tcp", listen); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.TenantHandler()}
	go hs.Serve(ln)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			hs.Close()
			db.Close()
		})
	}
	t.Cleanup(stop)
	return &tenantServer{s: s, url: "http://" + ln.Addr().String(), stop: stop}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// carnot events prints the stored events, a job's alone, after a seq,
// and as JSON lines; -f goes on with new ones, across a restart of the
// server, with none missed or repeated.
func TestEventsCommand(t *testing.T) {
	dir := t.TempDir()
	es := openTenantServer(t, dir, "", server.Config{DynamicNodes: true})
	tok, err := es.s.MintToken(context.Background(), api.TokenRequest{Name: "m", Role: "member", Tenant: "default"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(es.url, client.WithToken(tok.Secret))
	if err != nil {
		t.Fatal(err)
	}
	submit := func(id string) {
		t.Helper()
		if _, err := c.SubmitJob(context.Background(), []byte(`{"id":"`+id+`","tenant":"default","gpus":0,"cpus":1,"command":["x"]}`), ""); err != nil {
			t.Fatal(err)
		}
	}
	submit("one")
	submit("two")
	flags := []string{"--server", es.url, "--token", tok.Secret}
	code, out, errOut := mainOut(append([]string{"events"}, flags...)...)
	if code != 0 || !strings.Contains(out, "submitted  job one: ") || !strings.Contains(out, "submitted  job two: ") {
		t.Fatalf("carnot events: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = mainOut(append([]string{"events", "two", "-o", "json"}, flags...)...)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, `{"seq":`) || !strings.Contains(out, `"job":"two"`) {
		t.Fatalf("carnot events two -o json: exit %d\n%s", code, out)
	}
	// -o yaml, which --help offers like -o json: one YAML document an
	// event, with the fields of the JSON form.
	code, yout, errOut := mainOut(append([]string{"events", "two", "-o", "yaml"}, flags...)...)
	if code != 0 {
		t.Fatalf("carnot events two -o yaml: exit %d\n%s%s", code, yout, errOut)
	}
	var fromJSON, fromYAML map[string]any
	if err := json.Unmarshal([]byte(out), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(yout, "---\n") {
		t.Errorf("-o yaml does not start a document:\n%s", yout)
	}
	if err := yaml.Unmarshal([]byte(yout), &fromYAML); err != nil {
		t.Fatalf("-o yaml: %v\n%s", err, yout)
	}
	if fmt.Sprint(fromJSON) != fmt.Sprint(fromYAML) {
		t.Errorf("-o yaml and -o json differ:\n%v\n%v", fromYAML, fromJSON)
	}
	all, err := c.AllEvents(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := all.Events[len(all.Events)-1].Seq
	if code, out, _ = mainOut(append([]string{"events", "--after", "1000000"}, flags...)...); code != 0 || out != "" {
		t.Fatalf("carnot events --after beyond the last: exit %d\n%s", code, out)
	}

	// Following from the last seq: new events, then across a restart.
	ctx, cancel := context.WithCancel(context.Background())
	var buf syncBuffer
	done := make(chan error, 1)
	go func() { done <- followEvents(ctx, c, &eventPrinter{w: &buf}, "", lastSeq, &bytes.Buffer{}) }()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(buf.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("the follower did not print %q:\n%s", what, buf.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	submit("three")
	waitFor("job three")
	es.stop()
	openTenantServer(t, dir, strings.TrimPrefix(es.url, "http://"), server.Config{DynamicNodes: true}) // the same address
	submit("four")                                                                                     // the client retries the address until the server is back
	waitFor("job four")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow: %v", err)
	}
	got := buf.String()
	for _, id := range []string{"one", "two"} {
		if strings.Contains(got, "job "+id+":") {
			t.Errorf("the follower printed %s, which is before the seq it started after:\n%s", id, got)
		}
	}
	if strings.Count(got, "job three:") != 1 || strings.Count(got, "job four:") != 1 {
		t.Errorf("want three and four once each:\n%s", got)
	}
}
