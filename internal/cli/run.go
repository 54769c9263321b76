package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/model"
)

type runOpts struct {
	remote
	gpus, replicas, minReplicas, cpus, memGiB, maxRetries int
	tenant, id, class, workdir, restart                   string
	kind, runtimeLimit, grace, key                        string
	gpuModels, env, jurisdictions, after                  []string
	preemptible, follow                                   bool
}

func newRunCmd() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "run [flags] [--] COMMAND [ARGS…]",
		Short: "Submit a command as a job, like srun",
		Long: `Submits COMMAND as a job to a running Carnot server and prints its ID.
Sizes are per replica. The replicas run in the current directory unless
--workdir says otherwise (the directory must exist on the nodes), with
the --env variables added to the environment the agent gives them.

Flags go before COMMAND; everything from COMMAND on is the command's own
(use -- when COMMAND itself starts with a dash). A COMMAND named as a
job file (jobs.yaml, .json, .jsonl) is refused: carnot submit -f FILE
submits the jobs of a file. Unset flags are left
out of the job, so the server applies the tenant's and the class's
defaults; without --tenant the job is your token's tenant's, or, for a
token bound to no tenant (an operator's, carnot dev's), the facility's
tenant "default" if it has one. -f waits for the job to start, prints replica 0's output while
it runs and exits non-zero when the job does not succeed: with the
job's exit code when it failed with one (1 to 255), else 1. When the
server restarts or the connection breaks, -f reconnects (saying so on
stderr) and goes on from the last byte of output printed, so that no
line is lost or printed twice. Ctrl-C (SIGINT) or SIGTERM stops -f, not
the job: carnot says how to cancel or follow it and exits 130 or 143.

A submission that fails for want of a connection is retried with the
same idempotency key, so it never creates two jobs; --idempotency-key
makes that hold across invocations too.`,
		Example: `  carnot run --gpus 8 --replicas 4 --tenant lab-a -- torchrun train.py --lr 3e-4
  carnot run --gpus 1 --runtime-limit 2h --env HF_HOME=/data/hf -f python eval.py
  carnot run --gpus 8 --after prep-42 -- torchrun train.py
  carnot run --cpus 1 --after afterany:train-42 -- sh cleanup.sh
  carnot run --kind deployment --replicas 3 --min-replicas 1 --gpus 1 vllm serve`,
		Args: argsNamed("COMMAND", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, &o, args) },
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after COMMAND are COMMAND's
	f.IntVar(&o.gpus, "gpus", 0, "GPUs per replica")
	f.IntVar(&o.replicas, "replicas", 1, "replicas (a job's start together; a deployment's independently)")
	f.IntVar(&o.minReplicas, "min-replicas", 0, "with --kind deployment, the fewest replicas worth starting (default: --replicas)")
	f.StringVar(&o.tenant, "tenant", "", "the tenant that submits the job (default: your token's; for a token of no tenant, the facility's tenant \"default\")")
	f.StringVar(&o.id, "id", "", "the job's ID (default: the server chooses one)")
	f.StringVar(&o.class, "priority-class", "", "priority class (default: the server's, normal)")
	f.StringSliceVar(&o.gpuModels, "gpu-model", nil, "acceptable GPU models, e.g. H100,H200 (default: any)")
	f.IntVar(&o.cpus, "cpus", 0, "CPU cores per replica")
	f.IntVar(&o.memGiB, "memory-gib", 0, "memory per replica, GiB")
	f.StringArrayVar(&o.env, "env", nil, "environment variable K=V for the replicas, or K to pass this shell's value; repeatable")
	f.StringVar(&o.workdir, "workdir", "", "the replicas' working directory (default: the current directory)")
	f.StringVar(&o.restart, "restart", "", "what to do when an attempt fails: never or on-failure (default: the server's, never)")
	f.IntVar(&o.maxRetries, "max-retries", 0, "with --restart on-failure, retry at most N times")
	f.StringVar(&o.runtimeLimit, "runtime-limit", "", `stop the job after this long, e.g. "90m", "4h", "2d"`)
	f.StringVar(&o.grace, "checkpoint-grace", "", `time the job needs to checkpoint after a preemption notice, e.g. "2m"`)
	f.BoolVar(&o.preemptible, "preemptible", false, "whether the job may be preempted (default: the priority class's)")
	f.StringArrayVar(&o.jurisdictions, "jurisdiction", nil, "a jurisdiction tag the job may run under, e.g. EU; repeatable")
	f.StringSliceVar(&o.after, "after", nil, "start only once these jobs of the same tenant have ended as asked: an ID, once it succeeded (afterok); afterany:ID, once it ended; afternotok:ID, once it failed or was cancelled; e.g. prep,afterany:train (Slurm's --dependency); cancelled if one cannot be met")
	f.StringVar(&o.kind, "kind", "job", "job (replicas start together) or deployment (independent replicas)")
	f.BoolVarP(&o.follow, "follow", "f", false, "wait for the job, print replica 0's output and exit with the job's outcome")
	f.StringVar(&o.key, "idempotency-key", "", "submission key: the same key returns the job it created (default: random)")
	_ = cmd.RegisterFlagCompletionFunc("restart", cobra.FixedCompletions([]string{"never", "on-failure"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"job", "deployment"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("workdir")
	return cmd
}

// runSpec is the job `carnot run` submits, in the job file's JSON form
// (docs/jobspec.md). Fields left nil or empty are omitted so that the
// server applies its defaults.
type runSpec struct {
	ID              string            `json:"id,omitempty"`
	Kind            string            `json:"kind,omitempty"`
	Tenant          string            `json:"tenant,omitempty"`
	PriorityClass   string            `json:"priority_class,omitempty"`
	Replicas        *int              `json:"replicas,omitempty"`
	MinReplicas     *int              `json:"min_replicas,omitempty"`
	GPUs            int               `json:"gpus"`
	GPUModel        []string          `json:"gpu_model,omitempty"`
	CPUs            *int              `json:"cpus,omitempty"`
	MemoryGiB       *int              `json:"memory_gib,omitempty"`
	Preemptible     *bool             `json:"preemptible,omitempty"`
	CheckpointGrace *int64            `json:"checkpoint_grace,omitempty"`
	RuntimeLimit    *int64            `json:"runtime_limit,omitempty"`
	Jurisdictions   []string          `json:"jurisdictions,omitempty"`
	Command         []string          `json:"command"`
	Env             map[string]string `json:"env,omitempty"`
	WorkDir         string            `json:"workdir,omitempty"`
	Restart         string            `json:"restart,omitempty"`
	MaxRetries      *int              `json:"max_retries,omitempty"`
	DependsOn       []string          `json:"depends_on,omitempty"`
}

// maxDuration bounds --runtime-limit and --checkpoint-grace, as the job
// file does.
const maxDuration = 100 * 365 * model.Day

// buildRunSpec turns the flags into a job spec.
func buildRunSpec(cmd *cobra.Command, o *runOpts, command []string) (*runSpec, error) {
	if isJobFile(command[0]) {
		return nil, usageError{fmt.Errorf("%s is a job file, not a command: carnot run runs COMMAND as a job; to submit the jobs in the file: carnot submit -f %s",
			command[0], command[0])}
	}
	changed := cmd.Flags().Changed
	s := &runSpec{ID: o.id, Tenant: o.tenant, PriorityClass: o.class, GPUs: o.gpus, GPUModel: o.gpuModels,
		Jurisdictions: o.jurisdictions, Command: command, Restart: o.restart, DependsOn: o.after}
	if o.kind != "job" && o.kind != "deployment" {
		return nil, usageError{fmt.Errorf("--kind %q: want job or deployment", o.kind)}
	}
	if o.kind == "deployment" {
		s.Kind = o.kind
	}
	if o.restart != "" && o.restart != "never" && o.restart != "on-failure" {
		return nil, usageError{fmt.Errorf("--restart %q: want never or on-failure", o.restart)}
	}
	for name, p := range map[string]**int{"replicas": &s.Replicas, "min-replicas": &s.MinReplicas, "cpus": &s.CPUs, "memory-gib": &s.MemoryGiB, "max-retries": &s.MaxRetries} {
		if changed(name) {
			v, _ := cmd.Flags().GetInt(name)
			*p = &v
		}
	}
	if changed("preemptible") {
		s.Preemptible = &o.preemptible
	}
	for _, d := range []struct {
		flag, val string
		p         **int64
	}{{"runtime-limit", o.runtimeLimit, &s.RuntimeLimit}, {"checkpoint-grace", o.grace, &s.CheckpointGrace}} {
		if d.val == "" {
			continue
		}
		sec, err := model.ParseDuration(d.val, maxDuration)
		if err != nil {
			return nil, usageError{fmt.Errorf("--%s: %w", d.flag, err)}
		}
		v := int64(sec)
		*d.p = &v
	}
	env, err := parseEnv(o.env)
	if err != nil {
		return nil, err
	}
	s.Env = env
	s.WorkDir = o.workdir
	if !changed("workdir") {
		if s.WorkDir, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("the current directory, the job's default --workdir: %w", err)
		}
	}
	return s, nil
}

// isJobFile reports whether a command's program is named as a job file
// (docs/jobspec.md) and is not an executable here: what submit -f
// takes, given to run (whose -f is --follow).
func isJobFile(program string) bool {
	switch strings.ToLower(filepath.Ext(program)) {
	case ".yaml", ".yml", ".json", ".jsonl", ".ndjson":
	default:
		return false
	}
	fi, err := os.Stat(program)
	return err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0
}

// parseEnv reads K=V pairs; a bare K takes this process's value. A name
// given twice is a mistake (as --grid's zones and --policy's keys).
func parseEnv(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	env := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, usageError{fmt.Errorf("--env %q: want NAME=VALUE or NAME", kv)}
		}
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				return nil, usageError{fmt.Errorf("--env %s: not set in this shell; give NAME=VALUE", k)}
			}
		}
		if _, twice := env[k]; twice {
			return nil, usageError{fmt.Errorf("--env %s is given twice; give each variable once", k)}
		}
		env[k] = v
	}
	return env, nil
}

func runRun(cmd *cobra.Command, o *runOpts, command []string) error {
	spec, err := buildRunSpec(cmd, o, command)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	body, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	key := o.key
	if key == "" {
		key = client.NewKey()
	}
	ctx := ctxOf(cmd)
	submit := c.SubmitJob
	if spec.Kind == "deployment" {
		submit = c.SubmitDeployment
	}
	j, err := submit(ctx, body, key)
	if err != nil {
		return withRunFlags(err)
	}
	switch {
	case o.output != outTable:
		if err := printObject(cmd.OutOrStdout(), o.output, j); err != nil {
			return err
		}
	case o.follow:
		fmt.Fprintf(cmd.ErrOrStderr(), "submitted %s\n", j.ID)
	default:
		fmt.Fprintln(cmd.OutOrStdout(), j.ID)
	}
	if !o.follow {
		return nil
	}
	return followUntilSignal(ctx, c, j.ID, cmd.OutOrStdout(), cmd.ErrOrStderr())
}

// runFlags are the flags (or COMMAND) that set each field of a runSpec.
var runFlags = map[string]string{
	"id": "--id", "kind": "--kind", "tenant": "--tenant", "priority_class": "--priority-class",
	"replicas": "--replicas", "min_replicas": "--min-replicas", "gpus": "--gpus", "gpu_model": "--gpu-model", "cpus": "--cpus",
	"memory_gib": "--memory-gib", "preemptible": "--preemptible", "checkpoint_grace": "--checkpoint-grace",
	"runtime_limit": "--runtime-limit", "jurisdictions": "--jurisdiction", "command": "COMMAND",
	"env": "--env", "workdir": "--workdir", "restart": "--restart", "max_retries": "--max-retries",
	"depends_on": "--after",
}

// withRunFlags names, in the server's refusal of a job carnot run built,
// the flag next to each field it names ("replicas (--replicas): …"): the
// user typed flags, not the job file's fields.
func withRunFlags(err error) error {
	var p *api.Problem
	if !errors.As(err, &p) || len(p.Errors) == 0 {
		return err
	}
	q := *p
	q.Errors = slices.Clone(p.Errors)
	for i, fe := range q.Errors {
		name := fe.Field
		if k := strings.IndexAny(name, ".["); k >= 0 {
			name = name[:k]
		}
		if flag, ok := runFlags[name]; ok {
			q.Errors[i].Field = fe.Field + " (" + flag + ")"
		}
	}
	return &q
}

// followUntilSignal is followJob until SIGINT or SIGTERM: then it says
// that the job runs on and how to stop or follow it, and exits as a
// shell reports a command that signal ended (128 + its number: 130,
// 143).
func followUntilSignal(ctx context.Context, c *client.Client, id string, out, errw io.Writer) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	caught := make(chan os.Signal, 1)
	go func() {
		select {
		case s := <-sigs:
			caught <- s
			cancel()
		case <-ctx.Done():
		}
	}()
	var state string // the job's, as last seen
	err := followJob(ctx, c, id, out, errw, &state)
	var outcome exitError
	if err == nil || errors.As(err, &outcome) { // the job ended first
		return err
	}
	select {
	case s := <-caught:
		if state == api.StatePending {
			fmt.Fprintf(errw, "carnot: job %s is still queued; \"carnot cancel %s\" removes it, \"carnot logs -f %s\" follows it once it starts\n", id, id, id)
		} else {
			fmt.Fprintf(errw, "carnot: job %s keeps running; \"carnot cancel %s\" stops it, \"carnot logs -f %s\" follows it\n", id, id, id)
		}
		code := ExitFailure
		if n, ok := s.(syscall.Signal); ok {
			code = 128 + int(n)
		}
		return exitError{code: code}
	default:
		return err
	}
}

// pollInterval is how often `run -f` looks at a job that is not running.
var pollInterval = time.Second

// followJob waits for a job to run, copies replica 0's output of each
// attempt to out while it runs and says on errw why the job waits. It
// rides out a server restart or a broken connection: it reconnects,
// saying so on errw, and resumes the output where it was. It returns
// when the job is final: nil if it succeeded. It keeps the job's state,
// as last seen, in *state.
func followJob(ctx context.Context, c *client.Client, id string, out, errw io.Writer, state *string) error {
	streamed, said := 0, ""
	var lf *logFollower
	for {
		j, err := getJob(ctx, c, id, errw)
		if err != nil {
			return err
		}
		*state = j.State
		final := api.Final(j.State)
		if j.Attempt > streamed && len(j.Replicas) > 0 && j.State != api.StatePending {
			if lf == nil || lf.lo.Attempt != j.Attempt {
				lf = newLogFollower(c, id, client.LogOptions{Attempt: j.Attempt}, out, errw)
			}
			err := lf.copy(ctx, !final)
			switch {
			case err == nil || (final && ctx.Err() == nil):
				streamed = j.Attempt
				continue // the job's state after its output ended
			case client.IsNotFound(err) || client.IsConflict(err):
				// No output yet: the agent has not started the replica.
			default:
				return err
			}
		}
		if final {
			return jobOutcome(j)
		}
		if msg := waitLine(j); msg != said {
			fmt.Fprintln(errw, msg)
			said = msg
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// waitLine says what a job that does not run is waiting for.
func waitLine(j *api.Job) string {
	msg := j.ID + " is " + j.State
	if r := reasonOf(j); r != "" {
		msg += ": " + r
	}
	return msg
}

// jobOutcome is nil for a job that succeeded, else an error saying how it
// ended.
func jobOutcome(j *api.Job) error {
	if j.State == api.StateSucceeded {
		return nil
	}
	msg := "job " + j.ID + " " + j.State
	if j.Message != "" && j.Message != j.State { // not "cancelled: cancelled"
		msg += ": " + visible(j.Message)
	}
	code := ExitFailure
	if j.ExitCode != nil {
		if c := fmt.Sprintf("code %d", *j.ExitCode); !strings.Contains(j.Message, c) {
			msg += " (exit " + c + ")"
		}
		if *j.ExitCode > 0 && *j.ExitCode < 256 {
			code = *j.ExitCode // as srun and docker run pass it on
		}
	}
	return exitError{code, errors.New(msg)}
}
