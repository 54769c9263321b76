package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

func newEventsCmd() *cobra.Command {
	var (
		r      remote
		after  int64
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "events [JOB] [--after SEQ] [-f] [-o table|json|yaml]",
		Short: "Print the server's events, or a job's, and follow new ones",
		Long: `Prints the events a running Carnot server recorded — submissions,
starts, preemptions, deferrals, replicas' ends, node changes, tokens — that
your credentials may see (a tenant's token sees its tenant's only), oldest
first, one a line: time, sequence number, type, what it is about, message.
With JOB, only that job's. --after SEQ starts after a sequence number.

-f keeps printing new events as they happen (GET /v1/watch) until
interrupted; when the stream ends (a restart or a failover of the server,
a watcher that fell behind) it reconnects from the last event printed, so
none is missed or printed twice. -o json prints one JSON object a line,
-o yaml one YAML document (led by ---) an event.`,
		Example: `  carnot events
  carnot events train-1 -f
  carnot events --after 1200 -o json | jq .`,
		Args:              jobArgs(0, 1),
		ValidArgsFunction: r.completeJobs(true, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if after < 0 {
				return usageError{fmt.Errorf("--after %d: want a sequence number, 0 or more", after)}
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			job := ""
			if len(args) == 1 {
				job = args[0]
			}
			ctx := ctxOf(cmd)
			if follow {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
				defer stop()
			}
			p := &eventPrinter{w: cmd.OutOrStdout(), format: r.output}
			last, err := printEvents(ctx, c, p, job, after)
			if err != nil || !follow {
				return err
			}
			return followEvents(ctx, c, p, job, last, cmd.ErrOrStderr())
		},
	}
	r.addFlags(cmd)
	cmd.Flags().Int64Var(&after, "after", 0, "print the events after this sequence number")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	return cmd
}

// printEvents prints the stored events after seq after, page by page,
// and returns the last seq printed (after when none).
func printEvents(ctx context.Context, c *client.Client, p *eventPrinter, job string, after int64) (int64, error) {
	return eachEvent(ctx, c, job, after, p.print)
}

// eachEvent calls fn with each stored event after seq after (of job
// alone when it is set), page by page, in seq order, and returns the last
// seq passed (after when none). A page with nothing after the last seq
// ends it, whatever else it holds.
func eachEvent(ctx context.Context, c *client.Client, job string, after int64, fn func(api.Event) error) (int64, error) {
	for {
		var (
			page *api.EventList
			err  error
		)
		if job != "" {
			page, err = c.Events(ctx, job, after)
		} else {
			page, err = c.AllEvents(ctx, after)
		}
		if err != nil {
			return after, err
		}
		n := 0
		for _, ev := range page.Events {
			if ev.Seq <= after {
				continue
			}
			if err := fn(ev); err != nil {
				return after, err
			}
			after, n = ev.Seq, n+1
		}
		if n == 0 {
			return after, nil
		}
	}
}

// followEvents prints the events after seq last as they happen, for job
// alone when it is set, reconnecting from the last one printed whenever
// the stream ends, until ctx is done.
func followEvents(ctx context.Context, c *client.Client, p *eventPrinter, job string, last int64, errOut io.Writer) error {
	wait := time.Second
	for {
		st, err := c.WatchAfter(ctx, last)
		if err == nil {
			wait = time.Second
			for {
				ev, rerr := st.Next()
				if rerr != nil {
					break
				}
				if ev.Seq <= last && ev.Seq > 0 {
					continue // already printed
				}
				if job == "" || ev.Job == job {
					if err := p.print(ev); err != nil {
						st.Close()
						return err
					}
				}
				last = max(last, ev.Seq)
			}
			st.Close()
		}
		if ctx.Err() != nil {
			return nil // interrupted: a normal end
		}
		if err != nil {
			fmt.Fprintf(errOut, "carnot: the event stream: %s; reconnecting in %s\n", retryCause(err), wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// eventPrinter prints events one a line as text (format "" or table),
// as JSON objects one a line, or as YAML documents.
type eventPrinter struct {
	w      io.Writer
	format string
}

func (p *eventPrinter) print(ev api.Event) error {
	switch p.format {
	case outJSON:
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	case outYAML:
		if _, err := io.WriteString(p.w, "---\n"); err != nil {
			return err
		}
		return printObject(p.w, outYAML, ev)
	}
	var about []string
	if ev.Job != "" {
		about = append(about, "job "+ev.Job)
	}
	if ev.Node != "" {
		about = append(about, "node "+ev.Node)
	}
	if len(about) == 0 {
		about = append(about, "facility")
	}
	msg := visible(ev.Message)
	_, err := fmt.Fprintf(p.w, "%s  #%d  %s  %s: %s\n", ev.Time.UTC().Format(time.RFC3339), ev.Seq, ev.Type, strings.Join(about, ", "), msg)
	return err
}
