package cli

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

type submitOpts struct {
	remote
	files        []string
	skipExisting bool
}

func newSubmitCmd() *cobra.Command {
	var o submitOpts
	cmd := &cobra.Command{
		Use:   "submit -f FILE [-f FILE…] [-o table|json|yaml]",
		Short: "Submit the jobs of job files",
		Long: `Reads job files (docs/jobspec.md: YAML, JSON or JSON Lines) and submits
every job in them to a running Carnot server, in order. The files are
checked here first, so that a mistake is reported as file:line and
nothing is submitted (every job needs a command, and GPUs, CPUs or
memory); the server then checks them against the facility (tenants,
classes, GPU models, jurisdictions), and its refusal is reported at the
lines of the fields it names.

Submission stops at the first job the server refuses, saying which jobs
were already submitted. Each job carries an idempotency key, so a
submission retried for want of a connection never creates two jobs.
After a submission that stopped part way, --skip-existing submits the
file again, passing over the jobs whose IDs exist already (it does not
compare their specs).`,
		Example: `  carnot submit -f jobs.yaml
  gen-sweep | carnot submit -f -
  carnot submit -f train.yaml -f eval.jsonl -o json
  carnot submit -f sweep.yaml --skip-existing   # after a submission that stopped part way`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSubmit(cmd, &o) },
	}
	o.addFlags(cmd)
	cmd.Flags().StringArrayVarP(&o.files, "file", "f", nil, "job file (YAML, JSON or JSONL; - reads YAML or JSON from standard input); repeatable")
	cmd.Flags().BoolVar(&o.skipExisting, "skip-existing", false, "pass over jobs whose id exists already on the server, instead of stopping there")
	_ = cmd.MarkFlagRequired("file")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml", "json", "jsonl", "ndjson")
	return cmd
}

// stdinFile is the -f that reads standard input, as kubectl's; its jobs
// are named stdinName in messages and automatic IDs (stdin-1, …).
const (
	stdinFile = "-"
	stdinName = "stdin"
)

// pendingJob is one job to submit: its JSON object and where it came
// from.
type pendingJob struct {
	file  string
	n     int // from 1, in its file
	given jobspec.Given
	id    string
	kind  string
	body  []byte
}

func runSubmit(cmd *cobra.Command, o *submitOpts) error {
	var todo []pendingJob
	var errs []error // every file is checked before anything is sent
	if n := slices.Index(o.files, stdinFile); n >= 0 && slices.Index(o.files[n+1:], stdinFile) >= 0 {
		return usageError{errors.New("-f - is given twice: standard input is read once")}
	}
	for _, path := range o.files {
		jobs, err := loadForSubmit(path, cmd.InOrStdin(), cmd.ErrOrStderr())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		todo = append(todo, jobs...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := sharedIDs(todo); err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	base := client.NewKey()
	var done []*api.Job
	defer func() {
		if o.output != outTable { // the jobs submitted, [] when none (all skipped, or the first refused)
			list := api.JobList{Jobs: make([]api.Job, len(done))}
			for i, j := range done {
				list.Jobs[i] = *j
			}
			_ = printObject(cmd.OutOrStdout(), o.output, list)
		}
	}()
	for i, p := range todo {
		submit := c.SubmitJob
		if p.kind == string(model.KindDeployment) {
			submit = c.SubmitDeployment
		}
		j, err := submit(ctxOf(cmd), p.body, base+"-"+strconv.Itoa(i))
		if err != nil && o.skipExisting && exists(cmd, c, p.id, err) {
			fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s %s: it exists already\n", kindWord(p.kind), p.id)
			continue
		}
		if err != nil {
			return submitError(p, err, done)
		}
		done = append(done, j)
		if o.output == outTable {
			fmt.Fprintf(cmd.OutOrStdout(), "submitted %s %s (%s)\n", kindWord(j.Kind, p.kind), j.ID, j.State)
		}
	}
	return nil
}

// sharedIDs refuses the IDs that jobs of two files share: each file's
// are unique (its loader checks), but the server would take the first
// file's job and refuse the other's after the jobs before it were
// submitted. An automatic ID is the file's base name and the job's place,
// so two files of one name share them.
func sharedIDs(todo []pendingJob) error {
	first := make(map[string]pendingJob, len(todo))
	var msgs []string
	for _, p := range todo {
		q, ok := first[p.id]
		if !ok {
			first[p.id] = p
			continue
		}
		at := fmt.Sprintf("%s:%d", q.file, q.given.Line("id"))
		if p.given.Has("id") {
			msgs = append(msgs, fmt.Sprintf("%s:%d: jobs[%d].id: duplicate id %q: already used by %s", p.file, p.given.Line("id"), p.n-1, p.id, at))
		} else {
			msgs = append(msgs, fmt.Sprintf("%s:%d: jobs[%d]: its automatic id %q is that of %s too (made of the file's name and the job's place); give the jobs ids",
				p.file, p.given.Line("id"), p.n-1, p.id, at))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s\nnothing was submitted", strings.Join(msgs, "\n"))
}

// exists reports whether err refused job id because a job of that id
// exists: a conflict, and the job is there to read.
func exists(cmd *cobra.Command, c *client.Client, id string, err error) bool {
	var p *api.Problem
	if id == "" || !errors.As(err, &p) || p.Status != http.StatusConflict {
		return false
	}
	_, gerr := c.GetJob(ctxOf(cmd), id)
	return gerr == nil
}

func kindWord(kinds ...string) string {
	for _, k := range kinds {
		if k != "" {
			return k
		}
	}
	return "job"
}

// submitError says which job the server refused, where in its file the
// fields it names are, and which jobs went before.
func submitError(p pendingJob, err error, done []*api.Job) error {
	ids := make([]string, len(done))
	for i, j := range done {
		ids[i] = j.ID
	}
	before := "nothing was submitted"
	switch len(ids) {
	case 0:
	case 1:
		before = "1 job was submitted before it: " + ids[0]
	default:
		before = fmt.Sprintf("%d jobs were submitted before it: %s", len(ids), strings.Join(ids, ", "))
	}
	var prob *api.Problem
	if !errors.As(err, &prob) {
		// no answer: the server, not a line of the file, is at fault
		return &wrapped{msg: err.Error() + "\n" + unanswered(p, err, before, len(done) == 0), err: err}
	}
	head := fmt.Sprintf("%s:%d: %s (job %d of the file): ", p.file, p.given.Line(""), p.id, p.n)
	if len(prob.Errors) == 0 {
		return fmt.Errorf("%s%w\n%s", head, err, before)
	}
	var b strings.Builder
	detail := prob.Detail
	if detail == "" {
		detail = fmt.Sprintf("%s (%d)", prob.Title, prob.Status)
	}
	b.WriteString(head + detail)
	for _, e := range prob.Errors {
		field := e.Field
		if i := strings.IndexAny(field, "[."); i >= 0 {
			field = field[:i]
		}
		if e.Field == "" { // of the job as a whole: at its line
			fmt.Fprintf(&b, "\n  %s:%d: %s", p.file, p.given.Line(""), e.Message)
			continue
		}
		fmt.Fprintf(&b, "\n  %s:%d: %s: %s", p.file, p.given.Line(field), e.Field, e.Message)
	}
	b.WriteString("\n" + before)
	return &wrapped{msg: b.String(), err: err}
}

// unanswered says what became of job p, whose submission got no answer
// (err), and of those before it: none, or before lists them.
func unanswered(p pendingJob, err error, before string, none bool) string {
	what := fmt.Sprintf("job %s (job %d of %s)", p.id, p.n, p.file)
	var u *client.UnreachableError
	var cv *tls.CertificateVerificationError
	sent := !errors.As(err, &u) && !errors.As(err, &cv) // no connection, or the server's certificate refused
	switch {
	case !sent && none:
		return what + " was not submitted, nor any before it"
	case !sent:
		return what + " was not submitted; " + before
	case none:
		before = "nothing before it was"
	}
	return what + " may have been submitted; " + before + ": submit the file again with --skip-existing once the server answers"
}

// wrapped is an error with its own message that still unwraps to err.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// loadForSubmit loads a job file, checking it locally, and returns each
// job's JSON object as jobspec.Write writes it, less what the server
// must choose:
//
//   - Write always writes preemptible and priority_class; loaded without
//     the facility, a job that sets neither holds false and "normal",
//     which are not the server's defaults (the class's and the
//     facility's). They are dropped from jobs whose file does not set
//     them.
//   - submit_time (set by traces for the twin) is the server's to record;
//     it is dropped, with a warning on warn.
func loadForSubmit(path string, stdin io.Reader, warn io.Writer) ([]pendingJob, error) {
	var (
		jobs  []*model.Job
		given []jobspec.Given
		err   error
	)
	if path == stdinFile {
		path = stdinName
		jobs, given, err = jobspec.LoadToSubmit(path, stdin)
	} else {
		jobs, given, err = jobspec.LoadFileToSubmit(path)
	}
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: no jobs in the file", path)
	}
	var buf bytes.Buffer
	if err := jobspec.Write(&buf, jobs); err != nil {
		return nil, err
	}
	out := make([]pendingJob, len(jobs))
	submitTimes := 0
	for i, line := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
		drop := []string{"submit_time"}
		for _, k := range []string{"preemptible", "priority_class"} {
			if !given[i].Has(k) {
				drop = append(drop, k)
			}
		}
		if jobs[i].SubmitTime != 0 {
			submitTimes++
		}
		body, err := dropKeys(line, drop...)
		if err != nil {
			return nil, err
		}
		out[i] = pendingJob{file: path, n: i + 1, given: given[i], id: jobs[i].ID, kind: string(jobs[i].Kind), body: body}
	}
	if submitTimes > 0 {
		fmt.Fprintf(warn, "warning: %s: submit_time of %d jobs ignored: the server records when it accepts each job\n", path, submitTimes)
	}
	return out, nil
}

// dropKeys removes keys from a JSON object.
func dropKeys(obj []byte, keys ...string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	for _, k := range keys {
		delete(m, k)
	}
	return json.Marshal(m)
}
