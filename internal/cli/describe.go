package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

func newDescribeCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "describe JOB [-o table|json|yaml]",
		Short: "Show everything about a job: spec, state, replicas, usage and events",
		Long: `Shows a job or deployment of a running Carnot server: what it asks for,
its state and times, where each replica runs (node, GPUs, PID, state,
exit code, CPU time once ended), what it consumed (GPU-hours, facility kWh, EUR, gCO2e), why
it waits when it does, and its events in order.`,
		Example: `  carnot describe train-1
  carnot describe train-1 -o yaml`,
		Args:              jobArgs(1, 1),
		ValidArgsFunction: r.completeJobs(false, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			ctx := ctxOf(cmd)
			j, err := c.GetJob(ctx, args[0])
			if client.IsNotFound(err) {
				if d, derr := c.GetDeployment(ctx, args[0]); derr == nil {
					j, err = d, nil
				}
			}
			if err != nil {
				return err
			}
			evs, err := jobEvents(ctx, c, args[0])
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, described{j, evs})
			}
			return describeJob(cmd.OutOrStdout(), time.Now(), j, evs)
		},
	}
	r.addFlags(cmd)
	return cmd
}

// jobEvents reads every event of job id, page by page: the first page
// alone (the server's limit, oldest first) leaves out a long-lived job's
// latest.
func jobEvents(ctx context.Context, c *client.Client, id string) ([]api.Event, error) {
	all := []api.Event{}
	_, err := eachEvent(ctx, c, id, 0, func(ev api.Event) error { all = append(all, ev); return nil })
	if err != nil {
		return nil, err
	}
	return all, nil
}

// described is describe's -o json|yaml: the job with its events.
type described struct {
	*api.Job
	Events []api.Event `json:"events"`
}

// describeJob writes the job for a person to read.
func describeJob(w io.Writer, now time.Time, j *api.Job, events []api.Event) error {
	var b bytes.Buffer
	tw := newTable(&b)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	field("ID", j.ID)
	field("Kind", dash(j.Kind))
	field("Tenant", j.Tenant)
	field("Priority class", dash(j.PriorityClass))
	field("State", stateLine(j))
	if j.Message != "" {
		field("Message", visible(j.Message))
	}
	if j.Reason != nil {
		field("Reason", visible(reasonLine(now, j.Reason)))
	}
	if len(j.PowerWaits) > 0 {
		field("Power hold", "held replicas wait for "+powerWaits(j.PowerWaits))
	}
	field("Submitted", clock(now, &j.SubmitTime))
	field("Started", clock(now, j.StartTime))
	if j.LastCheckpoint != nil {
		field("Last checkpoint", clock(now, j.LastCheckpoint))
	}
	field("Ended", clock(now, j.EndTime))
	if j.ExitCode != nil {
		field("Exit code", strconv.Itoa(*j.ExitCode))
	}
	if j.StopBy != nil {
		stop := "by " + clock(now, j.StopBy)
		switch {
		case j.State == api.StateCancelling && j.PreemptedFor != "":
			stop += ", cancelled while preempted for " + j.PreemptedFor + " (its GPUs go to " + j.PreemptedFor + ")"
		case j.State == api.StateCancelling:
			stop += ", cancelled"
		case j.PreemptedFor != "":
			stop += ", preempted for " + j.PreemptedFor
		}
		field("Stopping", stop)
	}
	var s specView
	if err := json.Unmarshal(j.Spec, &s); err == nil {
		s.fields(field)
	}
	u := j.Usage
	field("Usage", fmt.Sprintf("%s GPU-h, %s kWh (facility), %s EUR, %s gCO2e",
		num(u.GPUSeconds/3600, 2), num(u.KWh, 2), num(u.EUR, 2), num(u.GCO2e, 0)))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(j.Replicas) > 0 {
		b.WriteString("\nReplicas:\n")
		replicaTable(&b, now, j.Replicas)
	}
	b.WriteString("\nEvents:\n")
	if len(events) == 0 {
		b.WriteString("  (none)\n")
	} else {
		eventTable(&b, now, events)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// stateLine is the state with the attempt, restarts and preemptions.
func stateLine(j *api.Job) string {
	var extra []string
	if j.Attempt > 0 {
		extra = append(extra, "attempt "+strconv.Itoa(j.Attempt))
	}
	if j.Restarts > 0 {
		extra = append(extra, plural(j.Restarts, "restart"))
	}
	if j.Preemptions > 0 {
		extra = append(extra, plural(j.Preemptions, "preemption"))
	}
	if len(extra) == 0 {
		return j.State
	}
	return j.State + " (" + strings.Join(extra, ", ") + ")"
}

// reasonLine is the core's reason with its code and estimated start.
func reasonLine(now time.Time, r *api.Reason) string {
	s := r.Message
	if r.Code != "" {
		s += " [" + r.Code + "]"
	}
	if r.EstStart != nil {
		s += "; estimated start " + clock(now, r.EstStart)
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func replicaTable(w io.Writer, now time.Time, rs []api.Replica) {
	tw := newTable(w)
	fmt.Fprintln(tw, "  REPLICA\tRANK\tNODE\tGPUS\tPID\tSTATE\tEXIT\tCPU\tSTARTED\tERROR")
	for _, r := range rs {
		gpus := make([]string, len(r.GPUs))
		for i, g := range r.GPUs {
			gpus[i] = strconv.Itoa(g)
		}
		pid, exit, started := "-", "-", "-"
		if r.PID > 0 {
			pid = strconv.Itoa(r.PID)
		}
		if r.ExitCode != nil {
			exit = strconv.Itoa(*r.ExitCode)
		}
		if r.Signal != "" {
			exit = r.Signal
		}
		if r.StartedAt != nil {
			started = ago(now, *r.StartedAt)
		}
		state := r.State
		if r.Held {
			state += " (held)"
		}
		if r.StopBy != nil && r.State == api.ReplicaRunning {
			// A partial preemption takes it: it has its grace to leave.
			state = "leaving (stop " + ago(now, *r.StopBy) + ")"
			if r.PreemptedFor != "" {
				state = "leaving (for " + r.PreemptedFor + ", stop " + ago(now, *r.StopBy) + ")"
			}
		}
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Index, r.Rank, dash(r.Node), dash(strings.Join(gpus, ",")),
			pid, state, exit, cpuTime(r.CPUSeconds), started, trunc(dash(r.Error), 60))
	}
	_ = tw.Flush()
}

// cpuTime is an ended replica's CPU time (its cgroup's), to a tenth of a
// second under a minute and to the second beyond; "-" when unknown.
func cpuTime(s *float64) string {
	if s == nil {
		return "-"
	}
	d := time.Duration(*s * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// powerWaits names the lowerings a held start waits for.
func powerWaits(ws []api.PowerWait) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		job := "a job of another tenant"
		if w.Job != "" {
			job = "job " + w.Job
		}
		parts[i] = fmt.Sprintf("%s, replica %d on %s, to be lowered to %d W", job, w.Replica, w.Node, w.PowerCapW)
	}
	return strings.Join(parts, "; ")
}

func eventTable(w io.Writer, now time.Time, evs []api.Event) {
	tw := newTable(w)
	fmt.Fprintln(tw, "  AGE\tTYPE\tMESSAGE")
	for _, e := range evs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", ago(now, e.Time), e.Type, trunc(e.Message, 100))
	}
	_ = tw.Flush()
}

// specView is the part of a job's spec that describe shows. It reads
// both the forms a person writes (durations as strings, a single GPU
// model) and jobspec.Write's (seconds, lists).
type specView struct {
	Replicas        int               `json:"replicas"`
	MinReplicas     int               `json:"min_replicas"`
	GPUs            int               `json:"gpus"`
	GPUModel        flexList          `json:"gpu_model"`
	CPUs            int               `json:"cpus"`
	MemoryGiB       int               `json:"memory_gib"`
	Preemptible     *bool             `json:"preemptible"`
	CheckpointGrace flexText          `json:"checkpoint_grace"`
	RuntimeLimit    flexText          `json:"runtime_limit"`
	Jurisdictions   flexList          `json:"jurisdictions"`
	DataClass       string            `json:"data_class"`
	Deadline        flexText          `json:"deadline"`
	Command         flexList          `json:"command"`
	WorkDir         string            `json:"workdir"`
	Env             map[string]string `json:"env"`
	Restart         string            `json:"restart"`
	MaxRetries      int               `json:"max_retries"`
}

// fields writes the spec's lines through field.
func (s *specView) fields(field func(k, v string)) {
	res := fmt.Sprintf("%d × %s", max(s.Replicas, 1), plural(s.GPUs, "GPU"))
	if len(s.GPUModel) > 0 {
		res += " (" + strings.Join(s.GPUModel, "|") + ")"
	}
	if s.CPUs > 0 {
		res += ", " + plural(s.CPUs, "CPU")
	}
	if s.MemoryGiB > 0 {
		res += ", " + strconv.Itoa(s.MemoryGiB) + " GiB"
	}
	res += " per replica"
	if s.MinReplicas > 0 && s.MinReplicas != s.Replicas {
		res += "; at least " + plural(s.MinReplicas, "replica")
	}
	field("Resources", res)
	field("Command", dash(shellJoin(s.Command)))
	if s.WorkDir != "" {
		field("Workdir", s.WorkDir)
	}
	if len(s.Env) > 0 {
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			keys[i] = k + "=" + s.Env[k]
		}
		field("Env", strings.Join(keys, " "))
	}
	if s.Restart != "" {
		r := s.Restart
		switch {
		case s.MaxRetries == 1:
			r += " (at most 1 retry)"
		case s.MaxRetries > 1:
			r += fmt.Sprintf(" (at most %d retries)", s.MaxRetries)
		}
		field("Restart", r)
	}
	if s.Preemptible != nil {
		field("Preemptible", strconv.FormatBool(*s.Preemptible))
	}
	for _, d := range []struct {
		k string
		v flexText
	}{{"Runtime limit", s.RuntimeLimit}, {"Checkpoint grace", s.CheckpointGrace}, {"Deadline", s.Deadline}} {
		if d.v != "" && d.v != "0" {
			field(d.k, d.v.duration(d.k == "Deadline"))
		}
	}
	if len(s.Jurisdictions) > 0 {
		field("Jurisdictions", strings.Join(s.Jurisdictions, ", "))
	}
	if s.DataClass != "" {
		field("Data class", s.DataClass)
	}
}

// shellJoin writes argv as a shell would need it typed: arguments with
// spaces or shell characters in single quotes.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// flexList reads a string or a list of strings.
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = flexList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// flexText reads a string or a number, as text.
type flexText string

func (t *flexText) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = flexText(s)
		return nil
	}
	*t = flexText(bytes.TrimSpace(b))
	return nil
}

// duration shows integer seconds as a duration (or, for a time, as an
// RFC 3339 time); text as written.
func (t flexText) duration(isTime bool) string {
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		return string(t)
	}
	if isTime {
		return time.Unix(n, 0).UTC().Format(time.RFC3339)
	}
	return human(time.Duration(n) * time.Second)
}
