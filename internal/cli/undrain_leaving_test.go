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
	op := func(context.Context, string) (*api.Node, error) {
		return &api.Node{Name: "n3", Condition: api.NodeDraining, GPUs: 8}, nil
	}
	if err := eachNode(context.Background(), cmd, []string{"n3"}, "undrained", op); err != nil {
		t.Fatal(err)
	}
	want := "node n3 undrained (draining, 0/8 GPUs in use); its agent is shutting down: it takes new work once the agent is back\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}
