package agent

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Reading a process's environment (/proc/PID/environ, to find its mark)
// takes the lock of its memory: a process that holds it while stuck (in
// uninterruptible sleep, in a driver's call) blocks the read for as long
// as it is. The agent reads the environments of all processes whenever
// it clears an ended task and when it kills a crashed agent's: one such
// process would hold the task's end, or the agent's start, forever. A
// read is given environWait; one that takes longer goes on in the
// background, and the process's environment is unknown until it ends:
// no second read of it is begun meanwhile, and the agent says so once
// (logStuckEnvirons). A scan that kills by a mark looks again at such a
// process, until undecidedWait after its read began (undecided.go).

// environWait bounds a read of a process's environment.
const environWait = 200 * time.Millisecond

// errEnvironStuck: a read of the process's environment did not end in
// environWait.
var errEnvironStuck = errors.New("reading the process's environment did not end")

// environRead, unless nil, reads a process's environment instead of
// /proc/PID/environ: a test's, which can block as such a read does.
var environRead atomic.Pointer[func(pid int) ([]byte, error)]

// stuckEnvirons is the processes whose environment's read goes on in the
// background.
var stuckEnvirons = struct {
	sync.Mutex
	pids map[int]stuckRead
}{pids: map[int]stuckRead{}}

// stuckRead is a read of a process's environment that goes on in the
// background: when it began, and whether logStuckEnvirons said so.
type stuckRead struct {
	began time.Time
	said  bool
}

// stuckSince is when the read of process pid's environment that goes on
// in the background began; false when none does.
func stuckSince(pid int) (time.Time, bool) {
	stuckEnvirons.Lock()
	defer stuckEnvirons.Unlock()
	s, ok := stuckEnvirons.pids[pid]
	return s.began, ok
}

// environ is process pid's environment, read within environWait;
// errEnvironStuck when the read, or one begun before, has not ended.
func environ(pid int) ([]byte, error) {
	stuckEnvirons.Lock()
	_, stuck := stuckEnvirons.pids[pid]
	stuckEnvirons.Unlock()
	if stuck {
		return nil, errEnvironStuck
	}
	type read struct {
		b   []byte
		err error
	}
	done := make(chan read, 1)
	late := false // the time was up: the read goes on in the background
	began := time.Now()
	go func() {
		var r read
		if f := environRead.Load(); f != nil {
			r.b, r.err = (*f)(pid)
		} else {
			r.b, r.err = readEnviron(pid)
		}
		stuckEnvirons.Lock()
		defer stuckEnvirons.Unlock()
		done <- r
		if late {
			delete(stuckEnvirons.pids, pid)
		}
	}()
	t := time.NewTimer(environWait)
	defer t.Stop()
	select {
	case r := <-done:
		return r.b, r.err
	case <-t.C:
	}
	stuckEnvirons.Lock()
	defer stuckEnvirons.Unlock()
	select {
	case r := <-done: // it ended as the time was up
		return r.b, r.err
	default:
	}
	stuckEnvirons.pids[pid] = stuckRead{began: began}
	late = true
	return nil, errEnvironStuck
}

// logStuckEnvirons says which processes' environments could not be read
// since the last call, once each.
func (r *processes) logStuckEnvirons() {
	stuckEnvirons.Lock()
	var pids []int
	for pid, s := range stuckEnvirons.pids {
		if !s.said {
			pids = append(pids, pid)
			s.said = true
			stuckEnvirons.pids[pid] = s
		}
	}
	stuckEnvirons.Unlock()
	if len(pids) > 0 {
		slices.Sort(pids)
		r.log.Warn("cannot read the environment of processes (stuck holding their memory's lock? uninterruptible sleep in a driver?): a task's processes among them are not found by their mark until it can be read",
			"pids", pids, "after", environWait)
	}
}

// readEnviron reads /proc/PID/environ in one read(2), into a buffer large
// enough for all of it. The file reads the memory of the process as it
// was when it was opened: a read after the process exec'd ends the file
// there, so a read in parts (os.ReadFile's) would give the environment
// cut short (the mark, last, gone) when the process exec'd in between.
// One read gives all of it or, after an exec, none.
func readEnviron(pid int) ([]byte, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/environ"
	bp := environBufs.Get().(*[]byte)
	defer environBufs.Put(bp)
	for {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		n, err := f.Read(*bp)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if n < len(*bp) || len(*bp) >= maxEnviron {
			return bytes.Clone((*bp)[:n]), nil
		}
		*bp = make([]byte, 2*len(*bp))
	}
}

// environBufs holds readEnviron's buffers, 64 KiB to start with.
var environBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// maxEnviron bounds what readEnviron reads: more than the kernel lets a
// program's arguments and environment take together (a quarter of an
// 8 MiB stack) unless its stack limit was raised.
const maxEnviron = 16 << 20
