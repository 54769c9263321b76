package server

import (
	"errors"
	"testing"
)

// TestBumpWakesOnlyItsNode: a change of one node's assignments ends the
// waits of that node's long polls and no other's (a thousand agents
// polling are not all woken by every start), and a failed commit ends
// every wait.
func TestBumpWakesOnlyItsNode(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	s := e.s
	s.mu.Lock()
	one, two := s.nodes["n1"].waitChange(), s.nodes["n2"].waitChange()
	before := s.nodes["n1"].version
	s.bump("n2")
	s.mu.Unlock()
	select {
	case <-one:
		t.Fatal("n1's poll woke for a change of n2")
	default:
	}
	select {
	case <-two:
	default:
		t.Fatal("n2's poll did not wake for its own change")
	}
	s.mu.Lock()
	if s.nodes["n1"].version != before {
		t.Fatal("n1's version moved with n2's change")
	}
	again := s.nodes["n2"].waitChange()
	s.fail(errors.New("the database went away"))
	s.mu.Unlock()
	for name, ch := range map[string]<-chan struct{}{"n1": one, "n2": again} {
		select {
		case <-ch:
		default:
			t.Fatalf("%s's poll still waits after a failed commit", name)
		}
	}
}
