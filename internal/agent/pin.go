package agent

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pinWait bounds how long killPinnedGroups waits for the processes it
// stopped to stop: once for all of them. A process that does not stop
// in that time (in uninterruptible sleep: a driver call that hangs, the
// very processes that may outlive SIGKILL) would otherwise cost it each,
// one after the other: a group of many such processes held the agent's
// start for as many seconds.
const pinWait = time.Second

// pinCand is a process through which killPinnedGroups may kill a process
// group, if is(pid) holds (its start time, its group, its mark). The
// candidates of one key kill one group: the first of them that stops.
// pinned, unless nil, is given the group's ID right before its SIGKILL;
// stuck, unless nil, is given the candidate when no candidate of its key
// stopped: it is killed alone, through its pidfd.
type pinCand struct {
	pid    int
	key    int
	is     func(pid int) bool
	pinned func(pgid int)
	stuck  func(pid int)
}

// pinning is a candidate stopped through its pidfd.
type pinning struct {
	pinCand
	fd      int
	settled bool // stopped (and its group killed, or not it), or ended
}

// killPinnedGroups sends SIGKILL to a process group for each key of
// cands, through one of its candidates, and returns the keys whose group
// it killed. A group is pinned by a process of it: held by a pidfd while
// is is checked (a PID taken by another process since fails it), then
// stopped through the pidfd, so that, unable to end by itself, it keeps
// its group's ID from being reused until the group is killed. A process
// that does not stop (it is ending, a zombie, in uninterruptible sleep)
// pins nothing. All candidates are stopped at once and waited for
// together, pinWait at most: the wait does not grow with their number.
// Every candidate stopped is killed in the end, through its pidfd: one of
// a key whose group was not killed is given to stuck. Without pidfds
// (before Linux 5.3) each group is killed as read. The agent's own group
// (own) is never killed.
func killPinnedGroups(cands []pinCand, own int) map[int]bool {
	done := map[int]bool{}
	var held []pinning
	defer func() {
		for _, p := range held {
			if !done[p.key] && p.stuck != nil {
				p.stuck(p.pid)
			}
			_ = unix.PidfdSendSignal(p.fd, syscall.SIGKILL, nil, 0)
			unix.Close(p.fd)
		}
	}()
	for _, c := range cands {
		if done[c.key] {
			continue
		}
		fd, err := unix.PidfdOpen(c.pid, 0)
		if errors.Is(err, syscall.ENOSYS) {
			if c.is(c.pid) && killGroupOf(c.pid, own, c.pinned) {
				done[c.key] = true
			}
			continue
		}
		if err != nil {
			continue
		}
		if !c.is(c.pid) || unix.PidfdSendSignal(fd, syscall.SIGSTOP, nil, 0) != nil {
			unix.Close(fd)
			continue
		}
		held = append(held, pinning{pinCand: c, fd: fd})
	}
	for deadline := time.Now().Add(pinWait); ; time.Sleep(time.Millisecond) {
		waiting := false
		for i := range held {
			p := &held[i]
			if p.settled || done[p.key] {
				continue
			}
			f, err := procStat(p.pid)
			switch {
			case err != nil || dead(p.pid, f[0]):
				p.settled, p.stuck = true, nil // ended: nothing to note
			case f[0] == "T" || f[0] == "t":
				// Still the pinned process (alive: its PID is its own)
				// and still as it was checked.
				p.settled = true
				if unix.PidfdSendSignal(p.fd, 0, nil, 0) == nil && p.is(p.pid) && killGroupOf(p.pid, own, p.pinned) {
					done[p.key] = true
				} else {
					p.stuck = nil
				}
			default:
				waiting = true
			}
		}
		if !waiting || time.Now().After(deadline) {
			return done
		}
	}
}

// killGroupOf sends SIGKILL to process pid's group, unless it is the
// agent's own (own) or init's, and reports whether it did; pinned,
// unless nil, is given the group's ID right before.
func killGroupOf(pid, own int, pinned func(pgid int)) bool {
	pgid, err := procGroup(pid)
	if err != nil || pgid <= 1 || pgid == own {
		return false
	}
	if pinned != nil {
		pinned(pgid)
	}
	return syscall.Kill(-pgid, syscall.SIGKILL) == nil
}
