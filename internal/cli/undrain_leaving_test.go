package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node undrained while its agent shuts down still shows draining: the
// line says why, and when it takes work again.
func TestUndrainLeavingNodeSaysWhy(t *testing.T) {
	var out bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	op := func(context.Context, string) (string, error) {
		return nodeLine("n3", "undrained", &api.Node{Name: "n3", Condition: api.NodeDraining, GPUs: 8}), nil
	}
	if err := eachNode(context.Background(), cmd, []string{"n3"}, op); err != nil {
		t.Fatal(err)
	}
	want := "node n3 undrained (draining, 0/8 GPUs in use); its agent is shutting down: it takes new work once the agent is back\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

// Undoing one of a drain and a fence of a node that has both says that
// the other still keeps work off it.
func TestUndoOneOfDrainAndFenceSaysTheOtherHolds(t *testing.T) {
	for _, c := range []struct {
		done string
		node api.Node
		want string
	}{
		{"undrained", api.Node{Name: "n3", Condition: api.NodeReady, Fenced: true, GPUs: 8},
			"node n3 undrained (ready,fenced, 0/8 GPUs in use); it is still fenced: it takes no work until unfenced\n"},
		{"unfenced", api.Node{Name: "n3", Condition: api.NodeDraining, Drained: true, GPUs: 8},
			"node n3 unfenced (draining, 0/8 GPUs in use); it is still drained: it takes no new work until undrained\n"},
		{"unfenced", api.Node{Name: "n3", Condition: api.NodeReady, GPUs: 8},
			"node n3 unfenced (ready, 0/8 GPUs in use)\n"},
	} {
		var out bytes.Buffer
		cmd := &cobra.Command{}
		cmd.SetOut(&out)
		op := func(context.Context, string) (string, error) { return nodeLine("n3", c.done, &c.node), nil }
		if err := eachNode(context.Background(), cmd, []string{"n3"}, op); err != nil {
			t.Fatal(err)
		}
		if out.String() != c.want {
			t.Errorf("%s: got %q\nwant %q", c.done, out.String(), c.want)
		}
	}
}

// A node undrained that still shows draining for another reason than
// its agent shutting down (not heard from since the server started, a
// disk its agent cannot write) says that reason, not a shutdown.
func TestUndrainDrainingNodeSaysTheReasonItStillDrains(t *testing.T) {
	for _, c := range []struct {
		node api.Node
		want string
	}{
		{api.Node{Name: "n3", Condition: api.NodeDraining, NotHeardSinceRestart: true, GPUs: 8},
			"node n3 undrained (draining,not-heard-since-restart, 0/8 GPUs in use); the server has not heard from its agent since it started: it takes new work once the agent reports\n"},
		// Both: the server's own event names the revocation, which
		// outlasts the restart's (the refused agent never reports).
		{api.Node{Name: "n3", Condition: api.NodeDraining, NotHeardSinceRestart: true, CertificatesRevoked: true, GPUs: 8},
			"node n3 undrained (draining,not-heard-since-restart,revoked, 0/8 GPUs in use); its certificates are revoked: it takes new work once it enrolls again\n"},
		{api.Node{Name: "n3", Condition: api.NodeDraining, DiskError: "open logs: read-only file system", GPUs: 8},
			"node n3 undrained (draining,disk-error, 0/8 GPUs in use); its agent cannot write its data directory: it takes new work once it can\n"},
	} {
		var out bytes.Buffer
		cmd := &cobra.Command{}
		cmd.SetOut(&out)
		op := func(context.Context, string) (string, error) { return nodeLine("n3", "undrained", &c.node), nil }
		if err := eachNode(context.Background(), cmd, []string{"n3"}, op); err != nil {
			t.Fatal(err)
		}
		if out.String() != c.want {
			t.Errorf("got %q\nwant %q", out.String(), c.want)
		}
	}
}
