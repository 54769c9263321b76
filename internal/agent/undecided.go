package agent

import (
	"log/slog"
	"os"
	"time"
)

// A scan for a task's mark cannot always tell whether a process carries
// it (readMark: its environment's read stuck, or an exec that does not
// end). Every scan that kills by a mark looks again at such processes,
// less often each time, for undecidedWait at most, and names in a
// warning those it never could tell of: a task's end (clearGroup), a
// stop's SIGKILL (process.Signal) and the check of a crashed agent's
// leftovers (killLeftovers). lookAgain paces the looks; lookForMarks is
// the scan and the looks for the callers that need no more.
//
// A process whose environment's read is stuck is waited for until
// undecidedWait after that read began, whichever scan began it: the
// scans of tasks that end together (each on its own goroutine) share
// that wait, and one that comes later does not wait for it again. A
// process stuck for hours (in a driver call that hangs) would otherwise
// make every task's end on the node 2 s late for as long.

// undecidedWait bounds how long the agent looks again at processes of
// which it could not tell whether they carry a mark.
const undecidedWait = 2 * time.Second

// firstLookAgain is the time to the first look again; each one after
// waits twice as long as the one before.
const firstLookAgain = 10 * time.Millisecond

// lookAgain paces the looks again at undecided processes, over a window
// from its making, or from when a process's stuck read began if sooner.
type lookAgain struct {
	window time.Duration
	end    time.Time
	every  time.Duration
}

// newLookAgain is a lookAgain whose window is window long.
func newLookAgain(window time.Duration) *lookAgain {
	return &lookAgain{window: window, end: time.Now().Add(window), every: firstLookAgain}
}

// wait sleeps until the next look at the processes undecided and
// reports true; it reports false, at once, when the window of none of
// them is left.
func (l *lookAgain) wait(undecided []int) bool {
	var end time.Time
	for _, pid := range undecided {
		e := l.end
		if since, ok := stuckSince(pid); ok && since.Add(l.window).Before(e) {
			e = since.Add(l.window)
		}
		if e.After(end) {
			end = e
		}
	}
	left := time.Until(end)
	if left <= 0 {
		return false
	}
	time.Sleep(min(l.every, left))
	l.every *= 2
	return true
}

// warnUndecided says that the processes undecided, which may carry a
// mark, were never told of in window, with their command names; msg
// says what the agent did without them.
func warnUndecided(log *slog.Logger, msg string, undecided []int, window time.Duration, attrs ...any) {
	if len(undecided) == 0 {
		return
	}
	log.Warn(msg, append(attrs, "pids", undecided, "commands", procComms(undecided), "after", window)...)
}

// scanMarks walks /proc once: found is the live processes that carry one
// of marks, by mark, the agent's own process excepted, and undecided
// those of which it could not tell (readMark).
func scanMarks(marks []string) (found map[int]string, undecided []int) {
	found = map[int]string{}
	if len(marks) == 0 {
		return found, nil
	}
	self := os.Getpid()
	for _, pid := range procPIDs() {
		if pid <= 1 || pid == self {
			continue
		}
		switch m, known := readMark(pid, marks); {
		case m != "":
			found[pid] = m
		case !known:
			undecided = append(undecided, pid)
		}
	}
	return found, undecided
}

// lookForMarks scans for the processes that carry one of marks and
// gives act those it found, each once; it looks again at those of which
// it could not tell (lookAgain, for window at most) and gives act those
// then told to carry one. It returns those it never could tell of.
func (r *processes) lookForMarks(marks []string, window time.Duration, act func(found map[int]string)) (undecided []int) {
	look := newLookAgain(window)
	seen := map[int]bool{}
	for {
		found, undecided := scanMarks(marks)
		r.logStuckEnvirons()
		for pid := range found {
			if seen[pid] {
				delete(found, pid)
			}
			seen[pid] = true
		}
		if len(found) > 0 {
			act(found)
		}
		if !look.wait(undecided) {
			return undecided
		}
	}
}
