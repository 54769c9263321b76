package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/agent"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/gpu"
	"github.com/carnot-dc/carnot/internal/pki"
)

// agentOpts are the flags of `carnot agent` (and the agent half of
// `carnot dev`).
type agentOpts struct {
	name     string
	site     string
	dataDir  string
	listen   string
	fakeGPUs int
	gpuModel string
	join     string // join token, to enroll when the node has no certificate
	ca       string // CA file to trust the server with
	// taskServer and taskCA are the tenant API's address and the CA file
	// given to tasks as $CARNOT_ADDR and $CARNOT_CA
	// (agent.Config.TaskServer, TaskCA)
	taskServer string
	taskCA     string
	keep       keepOpts
	// shutdownGrace caps each task's grace when the agent stops
	// (agent.Config.ShutdownGrace).
	shutdownGrace time.Duration
	cgroups       string // agent.Config.Cgroups
}

// keepOpts bound the tasks' data the agent keeps (agent.Retention).
type keepOpts struct {
	maxTasks    int
	maxAge      time.Duration
	diskPercent float64
	interval    time.Duration
	logMaxMiB   int64
}

func (k *keepOpts) flags(c *cobra.Command) {
	f := c.Flags()
	f.IntVar(&k.maxTasks, "gc-max-tasks", agent.DefaultMaxTasks, "finished tasks whose logs and work directories the agent keeps, the newest, besides those of jobs the server says are unfinished; -1: no limit")
	f.DurationVar(&k.maxAge, "gc-max-age", agent.DefaultMaxAge, "how long a finished task's logs and work directory are kept after its job's last task on the node ended (not while the server says the job is unfinished); negative: no limit")
	f.Float64Var(&k.diskPercent, "gc-disk-percent", agent.DefaultDiskPercent, "usage of the --data-dir file system (percent) above which finished tasks' data is deleted, oldest first, that of unfinished jobs last; -1: no limit")
	f.DurationVar(&k.interval, "gc-interval", agent.DefaultGCInterval, "how often the finished tasks' data is checked against the --gc-* limits")
	f.Int64Var(&k.logMaxMiB, "task-log-max-mib", agent.DefaultLogMaxBytes>>20, "size (MiB) at which a task's stdout or stderr file is rotated: at most twice this is kept of each, the end; -1: no limit")
}

// retention checks the flags and makes them the agent's Retention.
func (k *keepOpts) retention() (agent.Retention, error) {
	for _, z := range []struct {
		name, none string
		zero       bool
	}{{"--gc-max-tasks", "-1", k.maxTasks == 0}, {"--gc-max-age", "-1s", k.maxAge == 0}, {"--gc-disk-percent", "-1", k.diskPercent == 0},
		{"--task-log-max-mib", "-1", k.logMaxMiB == 0}} {
		if z.zero {
			return agent.Retention{}, usageError{fmt.Errorf("%s 0: give a limit, or %s for none", z.name, z.none)}
		}
	}
	if k.interval <= 0 {
		return agent.Retention{}, usageError{fmt.Errorf("--gc-interval %s: want a positive duration", k.interval)}
	}
	if k.diskPercent > 100 || k.diskPercent < 0 && k.diskPercent != -1 {
		return agent.Retention{}, usageError{fmt.Errorf("--gc-disk-percent %g: a share of the disk from 0 to 100, or -1 for none", k.diskPercent)}
	}
	if k.logMaxMiB > 1<<30 {
		return agent.Retention{}, usageError{fmt.Errorf("--task-log-max-mib %d: at most %d", k.logMaxMiB, 1<<30)}
	}
	r := agent.Retention{MaxTasks: k.maxTasks, MaxAge: k.maxAge, DiskPercent: k.diskPercent, Interval: k.interval,
		LogMaxBytes: k.logMaxMiB << 20}
	if k.logMaxMiB < 0 {
		r.LogMaxBytes = -1
	}
	return r, nil
}

func (o *agentOpts) flags(c *cobra.Command, withSite bool) {
	f := c.Flags()
	host, _ := os.Hostname()
	f.StringVar(&o.name, "name", host, "node name")
	if withSite {
		f.StringVar(&o.site, "site", "", "the site the node is in; default: its certificate's (the join token's site)")
		f.StringVar(&o.dataDir, "data-dir", "carnot-agent", "directory of the node's certificate and key, the tasks' logs and work directories")
		// No default from the environment: the help would print it.
		f.StringVar(&o.join, "join-token", "", "join token to enroll with when the node has no valid certificate in --data-dir (carnot token create --role join --site SITE); default $"+joinTokenEnv+", which, unlike this flag, other users of the machine cannot see")
		f.StringVar(&o.ca, "ca", os.Getenv(caEnv), "CA certificate (PEM) to trust the server with; default $CARNOT_CA, else the one saved at enrollment")
		f.StringVar(&o.taskServer, "task-server", os.Getenv(addrEnv), "the server's tenant API address (not the operator API's) given to tasks as $CARNOT_ADDR, with their job token as $CARNOT_TOKEN, so that carnot checkpoint in a task needs no flags; default $CARNOT_ADDR")
		f.StringVar(&o.taskCA, "task-ca", "", "CA certificate (PEM) given to tasks as $CARNOT_CA to trust the tenant API with; default the agent's own: --ca, else the one saved at enrollment")
	}
	f.StringVar(&o.listen, "agent-listen", "127.0.0.1:0", "address of the agent's log server")
	f.IntVar(&o.fakeGPUs, "fake-gpus", -1, "use N fake GPUs instead of NVML (for machines without NVIDIA GPUs); -1: NVML when present")
	f.StringVar(&o.gpuModel, "gpu-model", "H100", "model of the fake GPUs (a catalog name: A100, H100, H200, B200, …)")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 10*time.Second, "when the agent itself stops (SIGTERM, Ctrl-C), each task gets SIGTERM and at most this long (and never more than its own checkpoint grace) before SIGKILL; give a service manager's stop timeout more than this")
	f.StringVar(&o.cgroups, "cgroups", agent.CgroupsAuto, "run each task in a cgroup v2 of its own, which holds every process it starts (needs a cgroup the agent may write below its own, Linux 5.14+): auto (where it can), off, or required (refuse to start without)")
	o.keep.flags(c)
}

// checkAgentFlags refuses a --shutdown-grace or --cgroups the agent
// cannot use.
func (o *agentOpts) checkAgentFlags() error {
	if o.shutdownGrace < 0 || o.shutdownGrace > time.Hour {
		return usageError{fmt.Errorf("--shutdown-grace %s: at most 1h (0: the default, 10s)", o.shutdownGrace)}
	}
	if !slices.Contains([]string{"", agent.CgroupsAuto, agent.CgroupsOff, agent.CgroupsRequired}, o.cgroups) { // "": auto
		return usageError{fmt.Errorf("--cgroups %q: want %s, %s or %s", o.cgroups, agent.CgroupsAuto, agent.CgroupsOff, agent.CgroupsRequired)}
	}
	return nil
}

// devices opens the node's GPUs: fake ones when asked, else NVML. With
// fallback (carnot dev), a machine without NVML gets 8 fake GPUs.
func (o *agentOpts) devices(log *slog.Logger, fallback bool) (gpu.Devices, bool, error) {
	if o.fakeGPUs >= 0 {
		f, err := gpu.NewFake(o.fakeGPUs, o.gpuModel, o.name)
		return f, true, err
	}
	d, err := gpu.OpenNVML()
	if err == nil {
		return d, false, nil
	}
	if !errors.Is(err, gpu.ErrNoNVML) {
		return nil, false, err
	}
	if !fallback {
		log.Info("no NVML on this machine: the node has no GPUs (use --fake-gpus N to try GPU jobs)", "err", err)
		return nil, false, nil
	}
	log.Info("no NVML on this machine: using 8 fake GPUs (--fake-gpus to choose)", "model", o.gpuModel)
	f, err := gpu.NewFake(8, o.gpuModel, o.name)
	return f, true, err
}

// nodeAgent is the agent of this machine and the renewer of its
// certificate.
type nodeAgent struct {
	*agent.Agent
	renew *pki.Renewer
}

// Run runs the agent until ctx is done, renewing the node's certificate
// before it expires meanwhile.
func (a *nodeAgent) Run(ctx context.Context) error {
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.renew.Run(rctx) }()
	err := a.Agent.Run(ctx)
	stop()
	<-done
	return err
}

// tasksCA is the CA file tasks are given as $CARNOT_CA: --task-ca, else
// the agent's own (--ca, else the one saved at enrollment), absolute
// (a task runs in another directory); "" when the agent trusts the
// system's roots.
func (o *agentOpts) tasksCA() string {
	ca := o.taskCA
	if ca == "" {
		ca = o.ca
	}
	if ca == "" && fileExists(filepath.Join(o.dataDir, pki.CACertFile)) {
		ca = filepath.Join(o.dataDir, pki.CACertFile)
	}
	if abs, err := filepath.Abs(ca); ca != "" && err == nil {
		ca = abs
	}
	return ca
}

// newAgent builds the agent of this machine for the server at addr (its
// operator API), enrolling the node first when it has no certificate.
// The agent presents the certificate its renewer holds.
func (o *agentOpts) newAgent(ctx context.Context, addr string, log *slog.Logger, fallback bool) (*nodeAgent, gpu.Devices, error) {
	if o.name == "" {
		return nil, nil, usageError{errors.New("--name: the node needs a name")}
	}
	keep, err := o.keep.retention()
	if err != nil {
		return nil, nil, err
	}
	if err := o.checkAgentFlags(); err != nil {
		return nil, nil, err
	}
	cert, roots, site, err := enrollNode(ctx, addr, o.dataDir, o.name, o.join, o.ca)
	if err != nil {
		return nil, nil, err
	}
	if o.site == "" {
		o.site = site
	} else if o.site != site {
		return nil, nil, usageError{fmt.Errorf("--site %s: the node's certificate binds it to site %s", o.site, site)}
	}
	devs, fake, err := o.devices(log, fallback)
	if err != nil {
		return nil, nil, err
	}
	held := pki.NewNodeCert(cert)
	cl, err := client.New(addr, client.WithTLS(held.ClientConfig(roots)), client.WithUserAgent("carnot-agent/"+Version), client.WithAddrEnv(adminAddrEnv))
	if err != nil {
		if devs != nil {
			devs.Close()
		}
		return nil, nil, usageError{err}
	}
	cfg := agent.Config{Name: o.name, Site: o.site, DataDir: o.dataDir, Devices: devs, Listen: o.listen, TLS: held.ServerConfig(),
		FakeGPUs: fake, Version: Version, Logger: log.With("component", "agent"), Retention: keep, ShutdownGrace: o.shutdownGrace,
		TaskServer: o.taskServer, TaskCA: o.tasksCA(), Cgroups: o.cgroups}
	if cfg.TaskServer == "" {
		log.Info("tasks get no $CARNOT_ADDR: carnot checkpoint in a task needs --server; give the agent the tenant API's address (--task-server or $CARNOT_ADDR)")
	}
	if o.join != "" {
		// Revoked while it runs: it enrolls again with the join token,
		// as it would at its start.
		cfg.Reenroll = func(ctx context.Context) error {
			cert, _, got, err := enrollNode(ctx, addr, o.dataDir, o.name, o.join, o.ca)
			if err != nil {
				return err
			}
			if got != site {
				return fmt.Errorf("the server enrolled node %s in site %s, not %s: restart its agent", o.name, got, site)
			}
			held.Set(cert)
			cl.Reconnect() // its connections present the revoked certificate
			return nil
		}
	}
	a, err := agent.New(cfg, cl)
	if err != nil {
		if devs != nil {
			devs.Close()
		}
		return nil, nil, err
	}
	renew := &pki.Renewer{Node: o.name, Cert: held, Log: log.With("component", "agent"),
		Renew: func(ctx context.Context, cur tls.Certificate) (tls.Certificate, error) {
			return renewNodeCertificate(ctx, addr, o.dataDir, o.name, site, roots, cur)
		},
		// The connections made with the previous certificate would go on
		// presenting it, which the server refuses once the new one is
		// used; so would the long poll out with it.
		Renewed: func(tls.Certificate) { cl.Reconnect(); a.CertificateRenewed() }}
	return &nodeAgent{Agent: a, renew: renew}, devs, nil
}

func newAgentCmd() *cobra.Command {
	o := &agentOpts{}
	fo := &fleetOpts{}
	var addr, logLevel string
	c := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: register this machine and run its tasks",
		Long: `Run the node agent of this machine: it registers the node (name, site,
CPUs, memory, GPUs from NVML or --fake-gpus) with the server, runs the
replicas assigned to it as processes, captures their output and reports
their exits and the GPUs' telemetry. Stop it with Ctrl-C: its tasks are
stopped with their grace.

The node enrolls once, with a join token ($CARNOT_JOIN_TOKEN), for a
certificate kept in --data-dir. The agent renews that certificate with
itself before it expires (once less than a third of its life is left, at
its start or while it runs, retrying while the server refuses or does
not answer); new connections present the new one, with no restart, and
the connections made with the old one are left. A node whose certificate
an operator-admin revokes (carnot revoke-node) starts no new work; with
$CARNOT_JOIN_TOKEN its agent enrolls again once allowed (carnot
reenroll-node), else it exits non-zero once its tasks have ended.

With --fleet N --fake it runs N virtual nodes in this process instead
(PREFIX-0000…, each enrolled with its own certificate in
--data-dir/<node>/), whose tasks only pretend to run: for FAKE_DURATION
in their environment, else N seconds of a "sleep N" command, else until
the job's runtime limit, else --fake-duration (0: until stopped); then
they exit 0, or FAKE_EXIT. Nothing is executed (so --cgroups has no
effect there).`,
		Example: `  export CARNOT_JOIN_TOKEN=$(cat join.token)   # not --join-token: ps shows it
  carnot agent --fleet 1000 --fake --fake-gpus 8 --server https://cp:7461 --ca ca.crt \
      --data-dir fleet --site local`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger(cmd.ErrOrStderr(), logLevel)
			if err != nil {
				return err
			}
			o.join = o.joinToken(cmd)
			ctx, stop := signalContext()
			defer stop()
			if fo.active(cmd) {
				return runFleet(ctx, cmd, fo, o, agentServerAddr(addr), log)
			}
			a, devs, err := o.newAgent(ctx, agentServerAddr(addr), log, false)
			if err != nil {
				return err
			}
			if devs != nil {
				defer devs.Close()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "carnot agent %s (site %s) serving logs on %s\n", o.name, o.site, a.Addr())
			return a.Run(ctx)
		},
	}
	o.flags(c, true)
	fo.flags(c)
	c.Flags().StringVar(&addr, "server", "", "the server's operator API address(es), comma-separated (default $CARNOT_ADMIN_ADDR or "+client.DefaultAdminAddr+")")
	c.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return c
}

// agentServerAddr is the --server flag, else $CARNOT_ADMIN_ADDR, else
// the default operator API.
func agentServerAddr(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(adminAddrEnv); env != "" {
		return env
	}
	return client.DefaultAdminAddr
}

// joinTokenEnv is the private way to hand the agent its join token: the
// command line is visible to every user of the machine (ps,
// /proc/PID/cmdline) and stays in shell histories.
const joinTokenEnv = "CARNOT_JOIN_TOKEN"

// joinToken is the join token to enroll with: --join-token's, with a
// warning on c's standard error, else $CARNOT_JOIN_TOKEN's.
func (o *agentOpts) joinToken(c *cobra.Command) string {
	if f := c.Flags().Lookup("join-token"); f != nil && f.Changed {
		fmt.Fprintf(c.ErrOrStderr(), "warning: --join-token shows the token to every user of this machine (ps, /proc) and in shell history; set $%s instead\n", joinTokenEnv)
		return strings.TrimSpace(o.join)
	}
	return strings.TrimSpace(os.Getenv(joinTokenEnv))
}
