package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/fleet"
	"github.com/carnot-dc/carnot/internal/pki"
)

// fleetOpts are the flags of `carnot agent --fleet N --fake`: many
// virtual nodes in this process (internal/fleet).
type fleetOpts struct {
	nodes    int
	fake     bool
	prefix   string
	duration time.Duration
}

// defaultFleetGPUs is the fake GPUs of each virtual node without
// --fake-gpus.
const defaultFleetGPUs = 8

func (o *fleetOpts) flags(c *cobra.Command) {
	f := c.Flags()
	f.IntVar(&o.nodes, "fleet", 0, "run N virtual nodes in this process instead of this machine's agent (needs --fake); each enrolls as PREFIX-0000… with its own certificate in --data-dir/<node>/")
	f.BoolVar(&o.fake, "fake", false, "with --fleet: the nodes' tasks only pretend to run (FAKE_DURATION, a sleep N command or the runtime limit; docs/operations.md)")
	f.StringVar(&o.prefix, "fleet-prefix", "fake", "with --fleet: the virtual nodes' name prefix")
	f.DurationVar(&o.duration, "fake-duration", 0, "with --fleet: how long a task runs that says nothing of its duration; 0: until stopped")
}

// active reports whether the command runs a fleet.
func (o *fleetOpts) active(c *cobra.Command) bool {
	fl := c.Flags()
	return fl.Changed("fleet") || fl.Changed("fake") || fl.Changed("fleet-prefix") || fl.Changed("fake-duration")
}

// check refuses flags that do not go with a fleet, or a fleet without
// --fake.
func (o *fleetOpts) check(c *cobra.Command) error {
	fl := c.Flags()
	switch {
	case !fl.Changed("fleet"):
		return usageError{errors.New("--fake, --fleet-prefix and --fake-duration need --fleet N (for one virtual node: --fleet 1)")}
	case !o.fake:
		return usageError{errors.New("--fleet runs virtual nodes whose tasks only pretend to run: add --fake")}
	case o.nodes < 1:
		return usageError{fmt.Errorf("--fleet %d: want at least 1 node", o.nodes)}
	case o.duration < 0:
		return usageError{fmt.Errorf("--fake-duration %s: must not be negative", o.duration)}
	}
	for _, name := range []string{"name", "agent-listen"} {
		if fl.Changed(name) {
			return usageError{fmt.Errorf("--%s does not apply to a fleet: its nodes are named by --fleet-prefix and serve no logs", name)}
		}
	}
	return nil
}

// runFleet runs the fleet of o for the server at addr until ctx is done.
func runFleet(ctx context.Context, c *cobra.Command, o *fleetOpts, ao *agentOpts, addr string, log *slog.Logger) error {
	if err := o.check(c); err != nil {
		return err
	}
	if err := pki.CheckName(o.prefix); err != nil {
		return usageError{fmt.Errorf("--fleet-prefix: %w", err)}
	}
	gpus := ao.fakeGPUs
	if gpus < 0 {
		gpus = defaultFleetGPUs
	}
	cfg := fleet.Config{Server: addr, Nodes: o.nodes, Prefix: o.prefix, Site: ao.site, DataDir: ao.dataDir,
		JoinToken: ao.join, GPUs: gpus, GPUModel: ao.gpuModel, DefaultDuration: o.duration,
		Version: Version, Logger: log.With("component", "fleet")}
	if ao.ca != "" {
		pool, err := pki.LoadPool(ao.ca)
		if err != nil {
			return err
		}
		cfg.Roots = pool
	}
	f, err := fleet.New(ctx, cfg)
	if errors.Is(err, fleet.ErrNoJoinToken) {
		return usageError{fmt.Errorf("%w; set $CARNOT_JOIN_TOKEN", err)}
	}
	if err != nil {
		return err
	}
	names := f.Nodes()
	fmt.Fprintf(c.OutOrStdout(), "carnot agent: a fake fleet of %d nodes %s…%s (site %s, %d×%s each) for %s\n",
		len(names), names[0], names[len(names)-1], f.Site(), gpus, ao.gpuModel, addr)
	return f.Run(ctx)
}
