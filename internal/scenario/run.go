package scenario

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/carnot-dc/carnot/internal/sim"
)

// Outcome is what one scenario gave.
type Outcome struct {
	Name    string
	Axes    [3]string
	Metrics Metrics
	Sites   []SitePower // each site's peak against its envelope
	Halls   []HallPower // each hall's peak against its cap
	Racks   []RackPower // each capped rack's peak against its cap
	Err     error       // a failed run (a bug in the twin or the core), or a Finish error
}

// RunOptions tune Run.
type RunOptions struct {
	// Parallel bounds the scenarios run at once; ≤ 0 means
	// runtime.NumCPU().
	Parallel int
	// Finish, when set, sees every finished run in the worker that ran it
	// (so concurrently with other runs), e.g. to write its files.
	Finish func(c *Case, res *sim.Result, sum sim.Summary) error
	// Progress, when set, is called after each scenario, one call at a
	// time, in completion order (which varies; the outcomes do not).
	Progress func(done, total int, name string, err error)
}

// Run runs every case on a pool of workers and returns the outcomes in
// case order. Each run owns its facility (Prepare copies it) and its
// job structs (copied here), so runs share nothing they write. A run that fails does not stop the
// others; the error joins every failure. When ctx is cancelled no new
// run starts, and the cases not run fail with ctx's error.
func Run(ctx context.Context, cases []Case, opt RunOptions) ([]Outcome, error) {
	workers := opt.Parallel
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = max(1, min(workers, len(cases)))
	out := make([]Outcome, len(cases))
	next := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = runOne(&cases[i], opt.Finish)
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, len(cases), out[i].Name, out[i].Err)
					mu.Unlock()
				}
			}
		}()
	}
	sent := 0
feed:
	for ; sent < len(cases); sent++ {
		select {
		case next <- sent:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	var errs []error
	for i := range out {
		if i >= sent {
			out[i] = Outcome{Name: cases[i].Scenario.Name, Axes: cases[i].Axes, Err: ctx.Err()}
		}
		if out[i].Err != nil {
			errs = append(errs, fmt.Errorf("scenario %s: %w", out[i].Name, out[i].Err))
		}
	}
	return out, errors.Join(errs...)
}

// runOne simulates one case and reduces it to its metrics.
func runOne(c *Case, finish func(*Case, *sim.Result, sim.Summary) error) Outcome {
	o := Outcome{Name: c.Scenario.Name, Axes: c.Axes}
	cfg := c.Config
	cfg.Jobs = copyJobs(cfg.Jobs)
	res, err := sim.Run(cfg, nil)
	if err != nil {
		o.Err = err
		return o
	}
	sum := sim.Summarize(c.Config.Facility, res)
	o.Metrics = metricsOf(c.Config.Facility, res, sum)
	o.Sites, o.Halls = powerOf(c.Config.Facility, sum)
	o.Racks = racksOf(c.Config.Facility, sum)
	if finish != nil {
		o.Err = finish(c, res, sum)
	}
	return o
}
