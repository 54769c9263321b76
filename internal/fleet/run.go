package fleet

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// The job environment variables a fake task reads. The control plane
// reserves CARNOT_*, so a job cannot set names there; these are plain
// variables a real agent passes on and a real program ignores, so one job
// spec runs on both.
const (
	EnvDuration = "FAKE_DURATION" // how long the task runs: "90s", "200ms", "1.5" (seconds), "2d", "infinity"
	EnvExit     = "FAKE_EXIT"     // the exit code it ends with after its run, 0–255 (default 0)
)

// maxRun bounds a fake task's run (and keeps time.Duration in range).
const maxRun = 100 * 365 * 24 * time.Hour

// fakeRun is what a fake task does: run for Duration (or until its
// deadline, or until stopped), then exit with ExitCode. A non-empty Err
// means the task cannot start: it is reported failed at once.
type fakeRun struct {
	Duration      time.Duration
	UntilDeadline bool // runs until the task's deadline (its job's runtime limit)
	Forever       bool // runs until it is stopped
	ExitCode      int
	Err           string
}

// decide is how a fake task behaves, from its spec alone. The first of
// these that applies sets the run:
//
//  1. FAKE_DURATION in the task's environment;
//  2. a command that is `sleep ARG…` (GNU sleep: the arguments add up;
//     "infinity" runs until stopped), directly or as the whole script of
//     `sh -c` / `bash -c`; arguments sleep would refuse make the task
//     exit 1 at once, as sleep does;
//  3. the task's deadline (the job's runtime limit): the task runs until
//     it and exits as planned, as the digital twin takes a job's runtime
//     limit as its true run time;
//  4. def; 0 means the task runs until it is stopped.
//
// FAKE_EXIT sets the exit code; a value that is not 0–255, or a
// FAKE_DURATION that is not a duration, makes the task fail to start
// (exit code 126, the error in the task's status).
func decide(spec api.Task, def time.Duration) fakeRun {
	var r fakeRun
	if s, ok := spec.Env[EnvExit]; ok {
		code, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || code < 0 || code > 255 {
			return fakeRun{Err: fmt.Sprintf("fake task: %s=%q: want an exit code from 0 to 255", EnvExit, s)}
		}
		r.ExitCode = code
	}
	if s, ok := spec.Env[EnvDuration]; ok {
		d, forever, err := parseRun(s)
		if err != nil {
			return fakeRun{Err: fmt.Sprintf("fake task: %s=%q: %v", EnvDuration, s, err)}
		}
		r.Duration, r.Forever = d, forever
		return r
	}
	if args, ok := sleepArgs(spec.Command); ok {
		d, forever, err := sleepTime(args)
		if err != nil {
			return fakeRun{ExitCode: 1} // sleep: invalid time interval
		}
		r.Duration, r.Forever = d, forever
		return r
	}
	switch {
	case spec.Deadline != nil:
		r.UntilDeadline = true
	case def > 0:
		r.Duration = def
	default:
		r.Forever = true
	}
	return r
}

// shellSleep is a shell script that is one sleep command.
var shellSleep = regexp.MustCompile(`^\s*(?:exec\s+)?sleep((?:\s+[^\s;&|<>()$` + "`" + `]+)+)\s*;?\s*$`)

// sleepArgs returns the arguments of a command that is sleep: argv
// `sleep ARG…` (any directory), or `sh|bash|dash -c 'sleep ARG…'`.
func sleepArgs(argv []string) ([]string, bool) {
	if len(argv) == 0 {
		return nil, false
	}
	switch path.Base(argv[0]) {
	case "sleep":
		return argv[1:], true
	case "sh", "bash", "dash":
		if len(argv) >= 3 && argv[1] == "-c" {
			if m := shellSleep.FindStringSubmatch(argv[2]); m != nil {
				return strings.Fields(m[1]), true
			}
		}
	}
	return nil, false
}

// sleepTime is the time GNU sleep sleeps for args: their sum, each a
// number with an optional suffix s, m, h or d; "infinity" is forever.
func sleepTime(args []string) (time.Duration, bool, error) {
	if len(args) == 0 {
		return 0, false, fmt.Errorf("sleep: missing operand")
	}
	var total float64
	for _, a := range args {
		if a == "infinity" || a == "inf" {
			return 0, true, nil
		}
		mult := 1.0
		switch {
		case strings.HasSuffix(a, "s"):
			a = a[:len(a)-1]
		case strings.HasSuffix(a, "m"):
			a, mult = a[:len(a)-1], 60
		case strings.HasSuffix(a, "h"):
			a, mult = a[:len(a)-1], 3600
		case strings.HasSuffix(a, "d"):
			a, mult = a[:len(a)-1], 86400
		}
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false, fmt.Errorf("sleep: invalid time interval %q", a)
		}
		total += v * mult
	}
	return seconds(total), false, nil
}

// parseRun reads FAKE_DURATION: a Go duration ("1m30s", "200ms"), a
// number of seconds ("1.5"), sleep's forms ("2d") or "infinity".
func parseRun(s string) (time.Duration, bool, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, false, fmt.Errorf("a duration must not be negative")
		}
		return d, false, nil
	}
	d, forever, err := sleepTime([]string{s})
	if err != nil {
		return 0, false, fmt.Errorf(`want a duration such as "90s", "200ms", "1.5" (seconds), "2d" or "infinity"`)
	}
	return d, forever, nil
}

// seconds converts s seconds to a duration, at most maxRun.
func seconds(s float64) time.Duration {
	if s >= maxRun.Seconds() {
		return maxRun
	}
	return time.Duration(s * float64(time.Second))
}
