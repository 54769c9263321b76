package cli

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
)

// jobIDEnv is the variable the server sets in every task's environment
// to the ID of the task's job, replicaEnv to the index of its replica.
const (
	jobIDEnv   = "CARNOT_JOB_ID"
	replicaEnv = "CARNOT_REPLICA"
)

func newCheckpointCmd() *cobra.Command {
	var r remote
	var message string
	cmd := &cobra.Command{
		Use:   "checkpoint [JOB] [--message TEXT]",
		Short: "Tell the server a job saved a checkpoint (run from its task)",
		Long: `Tells a running Carnot server that a job saved a checkpoint (POST
/v1/jobs/{id}/checkpoint). Meant to run in the job's own task after each
save: without JOB it takes the task's job, $` + jobIDEnv + `, which the
server sets in every task's environment.

While the job runs, the server records the time, by its clock, as the
job's last checkpoint (last_checkpoint in carnot describe and the API):
the scheduler costs preempting the job by the GPU-time since then rather
than since its start, so of two equal jobs the one that saved more
recently is preempted, losing less. Nothing else changes and no event is
recorded, so a job may report every few minutes for weeks; --message is
checked but not kept. A new attempt (after a preemption or a restart)
starts with none.

While the job is being preempted, or cancelled (SIGTERM is the notice
either way), the same call acknowledges the notice: its replicas are
stopped at once (SIGKILL of their process groups, and of their cgroups
where they have them, this command's too: run it last, once the save is
complete) instead of at the end of its checkpoint_grace, and --message
is kept in the job's events and the audit log. For a deployment whose
replicas leave for a partial preemption, those replicas alone are
stopped; from the task, the call names its replica ($` + replicaEnv + `), so
that one of the replicas that stay has its routine checkpoint recorded
instead.

In a task it needs no flags: the server hands every task its job token
for the attempt, which the agent sets as $` + tokenEnv + `, with the tenant API's
address and CA as $` + addrEnv + ` and $` + caEnv + ` (carnot agent --task-server;
carnot dev sets them). The job token reads its own job and reports its
checkpoints, nothing else, and stops working once its attempt is over: a
report from an attempt preempted, restarted or ended is refused (401).
Outside a task, give a member's token of the job's tenant (or above),
as for any command.

It prints what the server did, as the status of its answer says: the
checkpoint recorded (200, with its time), or the notice acknowledged
(202, the replicas stopping now).`,
		Example: `  # in the job's task, after each save:
  carnot checkpoint -m "step 1200 in /ckpt/1200"
  # job j-abc checkpoint recorded at 2026-03-02T11:00:00Z
  carnot checkpoint j-abc   # a job of your tenant, by ID`,
		Args:              jobArgs(0, 1),
		ValidArgsFunction: r.completeJobs(true, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := os.Getenv(jobIDEnv)
			if len(args) == 1 {
				id = args[0]
			}
			if strings.TrimSpace(id) == "" {
				return usageError{fmt.Errorf("%s needs JOB, or $%s set (as in a task's environment)", cmd.CommandPath(), jobIDEnv)}
			}
			ack := api.CheckpointAck{Message: message}
			if id == os.Getenv(jobIDEnv) { // from the job's own task: name its replica
				if n, err := strconv.Atoi(os.Getenv(replicaEnv)); err == nil && n >= 0 {
					ack.Replica = &n
				}
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			j, status, err := c.Checkpoint(ctxOf(cmd), id, ack)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), checkpointLine(j, status))
			return nil
		},
	}
	r.addServerFlag(cmd)
	cmd.Flags().StringVarP(&message, "message", "m", "", "a note, e.g. the checkpoint's path: kept in an acknowledgement's event; one line, at most 1024 bytes")
	return cmd
}

// checkpointLine says what the server did with a checkpoint of j, as
// the status of its answer tells: recorded it (200: a running job, or a
// replica that stays while others leave), or stops replicas at once (202:
// an acknowledgement, of the job's stop when it has one, else of its
// replicas leaving for a partial preemption). The server alone decides
// which: the line does not work it out again from the job.
func checkpointLine(j *api.Job, status int) string {
	switch {
	case status == http.StatusAccepted && j.StopBy != nil:
		return fmt.Sprintf("job %s checkpoint acknowledged: %s, its replicas stop now", j.ID, j.State)
	case status == http.StatusAccepted:
		return fmt.Sprintf("job %s checkpoint acknowledged: the replicas leaving for a partial preemption stop now", j.ID)
	case status == http.StatusOK && j.LastCheckpoint != nil:
		return fmt.Sprintf("job %s checkpoint recorded at %s", j.ID, j.LastCheckpoint.UTC().Format(time.RFC3339))
	case status == http.StatusOK:
		return fmt.Sprintf("job %s checkpoint recorded", j.ID)
	}
	return fmt.Sprintf("job %s checkpoint sent (%s)", j.ID, j.State)
}
