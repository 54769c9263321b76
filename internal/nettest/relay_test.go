package nettest

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo serves an echo on a free port until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, line string) (string, error) {
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// A relay passes bytes both ways; frozen, it passes none and keeps the
// connection open; cut, it closes its connections and refuses new ones.
func TestRelay(t *testing.T) {
	r, err := NewRelay(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "hello"); err != nil || got != "hello\n" {
		t.Fatalf("through the relay: %q, %v", got, err)
	}
	r.Freeze()
	if got, err := roundTrip(c, "held"); err == nil {
		t.Errorf("frozen, the relay passed %q", got)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("frozen, the connection failed (%v) instead of going quiet", err)
	}
	r2, err := NewRelay(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.Close)
	c2, err := net.Dial("tcp", r2.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := roundTrip(c2, "x"); err != nil {
		t.Fatal(err)
	}
	r2.Cut()
	if _, err := roundTrip(c2, "y"); err == nil {
		t.Error("cut, the relay still passed bytes")
	}
	if c3, err := net.Dial("tcp", r2.Addr()); err == nil {
		c3.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c3.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("a new connection to a cut relay: read %v, want it closed (EOF)", err)
		}
		c3.Close()
	}
}
