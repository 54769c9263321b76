package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// defaultWorkloadStart is when generated workloads start unless --start
// says otherwise: a fixed instant, so the same flags give the same file.
const defaultWorkloadStart = "2026-01-01T00:00:00Z"

func newWorkloadCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workload",
		Short: "Generate, convert and validate job workloads (YAML, JSON, JSONL)",
		Long:  "Job files list the jobs and deployments tenants submit; see docs/jobspec.md.",
	}
	cmd.AddCommand(newWorkloadGenerateCmd(), newWorkloadValidateCmd(), newWorkloadPhillyCmd())
	return cmd
}

// workloadFacility is the facility flags shared by the subcommands.
type workloadFacility struct {
	path  string
	bench bool
}

func (w *workloadFacility) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&w.path, "facility", "", "facility description (YAML)")
	cmd.Flags().BoolVar(&w.bench, "bench", false, "use the built-in benchmark facility (10,000 nodes × 8 GPUs, 200 tenants) instead of --facility")
}

// load returns the facility, or nil when neither flag is set.
func (w *workloadFacility) load() (*model.Facility, error) {
	switch {
	case w.bench && w.path != "":
		return nil, errors.New("give --facility or --bench, not both")
	case w.bench:
		return workload.GenerateFacility(workload.DefaultFacilityConfig()), nil
	case w.path != "":
		f, err := facility.LoadFile(w.path)
		if err != nil {
			return nil, fmt.Errorf("facility %s:\n%w", w.path, err)
		}
		return f, nil
	}
	return nil, nil
}

func newWorkloadGenerateCmd() *cobra.Command {
	var (
		fac   workloadFacility
		n     int
		seed  int64
		start string
		out   string
	)
	cmd := &cobra.Command{
		Use:   "generate (--facility FILE | --bench) [--jobs N] [--seed S] [--start RFC3339] [-o FILE]",
		Short: "Write a synthetic workload for a facility as JSONL",
		Long: "Generate writes N synthetic jobs for the facility as JSON Lines (stdout by default). " +
			"The same facility, --jobs, --seed and --start always give the same file, and " +
			"'carnot workload validate' accepts it against the same facility. With --facility every job " +
			"could run with nothing else running: within its tenant's quotas, on sites with its GPU model, and a gang kept in one site (any topology but any) no larger than one site holds. " +
			"--bench writes the benchmarks' workload as it is, some of whose jobs their quotas never let run.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := fac.load()
			if err != nil {
				return err
			}
			if f == nil {
				return errors.New("give --facility FILE or --bench")
			}
			if n < 1 || n > workload.MaxJobs {
				return usageError{fmt.Errorf("--jobs must be from 1 to %d (got %d)", workload.MaxJobs, n)}
			}
			t, err := time.Parse(time.RFC3339, start)
			if err != nil {
				return fmt.Errorf("--start must be an RFC 3339 time such as %s (got %q)", defaultWorkloadStart, start)
			}
			if t.Unix() <= 0 {
				return fmt.Errorf("--start %s: job files hold times after 1970-01-01T00:00:00Z; give a later start", start)
			}
			gen := workload.GenerateRunnable
			if fac.bench {
				gen = workload.Generate // the benchmarks' workload (docs/benchmarks.md)
			}
			// classes the facility does not define: the twin refuses them
			jobs := workload.DropUndefinedClasses(f, gen(f, n, seed, model.TimeOf(t)))
			if jobs == nil {
				return errors.New("no tenant of the facility can use any GPU: nothing to generate")
			}
			// what validate would refuse is not written
			if last := lastTime(jobs); last > jobspec.MaxTime {
				return fmt.Errorf("--start %s: the jobs' times would reach %s, past %s, the latest a job file holds; give an earlier start", start, last, jobspec.MaxTime)
			}
			return writeJobs(cmd.OutOrStdout(), out, jobs)
		},
	}
	fac.register(cmd)
	cmd.Flags().IntVar(&n, "jobs", 1000, "number of jobs")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&start, "start", defaultWorkloadStart, "start of the submit window (RFC 3339)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// lastTime is the latest submit time, earliest start or deadline of jobs.
func lastTime(jobs []*model.Job) model.Time {
	var last model.Time
	for _, j := range jobs {
		last = max(last, j.SubmitTime, j.EarliestStart)
		if j.Deadline < model.Forever {
			last = max(last, j.Deadline)
		}
	}
	return last
}

// writeJobs writes JSONL to path, or to stdout when path is empty.
func writeJobs(stdout io.Writer, path string, jobs []*model.Job) error {
	if path == "" {
		return jobspec.Write(stdout, jobs)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = jobspec.Write(w, jobs)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close output: %w", cerr)
	}
	return err
}

func newWorkloadValidateCmd() *cobra.Command {
	var fac workloadFacility
	cmd := &cobra.Command{
		Use:   "validate [--facility FILE | --bench] FILE...",
		Short: "Check job files and report every problem with its line",
		Long: "Validate checks job files (YAML, JSON, or JSONL by the .jsonl or .ndjson extension): " +
			"syntax, fields, values, and that no job's depends_on names itself or a later job of its file. " +
			"With a facility it also checks tenants, priority classes, data classes, GPU models, sizes and jurisdictions against it.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := fac.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			bad := 0
			for _, path := range args {
				jobs, err := jobspec.LoadFile(path, f)
				if err != nil {
					bad++
					printJobErrors(out, err)
					continue
				}
				fmt.Fprintf(out, "%s: ok (%s)\n", path, jobSummary(jobs))
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d job files invalid", bad, len(args))
			}
			return nil
		},
	}
	fac.register(cmd)
	return cmd
}

// printJobErrors prints a job file's problems, at most
// jobspec.MaxListed of them and a count of the rest (jobspec.Brief).
func printJobErrors(w io.Writer, err error) {
	fmt.Fprintln(w, jobspec.Brief(err))
}

func jobSummary(jobs []*model.Job) string {
	var deployments, gpus int
	for _, j := range jobs {
		if j.Kind == model.KindDeployment {
			deployments++
		}
		gpus += j.TotalGPUs()
	}
	return fmt.Sprintf("%d jobs, %d deployments, %d GPUs requested", len(jobs)-deployments, deployments, gpus)
}
