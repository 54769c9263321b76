package agent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// The log server closes a keep-alive connection left idle: anyone who
// reaches its port could otherwise hold connections open for ever, each
// an open file of the agent's (one that asks for logs without the
// server's token, answered 401, included).
func TestLogServerClosesIdleConnections(t *testing.T) {
	a, err := New(Config{Name: "n1", DataDir: t.TempDir(), CPUs: 1, MemoryGiB: 1, Logger: slog.New(slog.DiscardHandler)}, newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	a.logIdle = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+api.AgentLogsPath+"?job=j&replica=0&attempt=1 HTTP/1.1\r\nHost: agent\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Close {
		t.Fatalf("answer %d (close %v), want a 401 on a connection kept alive", resp.StatusCode, resp.Close)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("the idle connection, after 5 s: %v; want it closed by the server (EOF)", err)
	}
}
