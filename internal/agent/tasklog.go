package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A task's stdout and stderr reach the agent through pipes, and the agent
// writes each to its log file, DataDir/logs/<job>/<attempt>/<replica>.<stream>
// (as dockerd's json-file driver does, so that the agent can rotate it).
// When the file reaches the size limit it becomes <stream>.1, the
// previous .1 is dropped and a new file begins: of each stream at most
// twice the limit is kept, the end of the output. <stream>.dropped holds
// how many bytes of the beginning are gone, once some are, so that
// offsets stay those of the whole output and the log server can say what
// it no longer has. Bytes that could not be written (a full disk) keep
// their place in the file likewise (mendLocked).

// Suffixes of a stream's files besides the current one.
const (
	prevSuffix    = ".1"
	droppedSuffix = ".dropped"
	newSuffix     = ".new" // a rotation's new file, until it takes the current one's name
	tmpSuffix     = ".tmp" // replaceFile's temporary file, beside the one it replaces
)

// logDrain bounds how long, once a task's processes are gone, the agent
// still reads its output: what is in the pipes is read at once, and a
// process that escaped the task (no mark, another group) and holds the
// pipe open is not waited for.
const logDrain = 2 * time.Second

// streamLog writes one stream of a running task to its file, rotating it
// at max bytes (0: never).
type streamLog struct {
	path string
	max  int64
	log  *slog.Logger
	pipe *os.File      // the agent's end; the task writes to the other
	done chan struct{} // closed once the pipe is drained and the file closed
	// onFull, when set, is told of a write that failed for want of a
	// disk to write on (noRoom): the node then takes no new work (disk.go)
	onFull func(error)

	mu      sync.Mutex
	f       logFile
	size    int64 // of the current file
	prev    int64 // of path.1; 0: there is none
	dropped int64 // bytes of the output before the first file kept
	gen     int   // rotations so far
	failing bool  // the last write or rotation failed (logged once)
	// lost is how many bytes of the output the file misses since its
	// end (writes that failed: a full disk); they take their place in
	// the file before anything more is written (mendLocked)
	lost    int64
	midLine bool // the last byte written is not a newline
}

// logFile is a stream's current file as streamLog writes it: an
// *os.File (tests stand a full disk in for it).
type logFile interface {
	io.WriteSeeker
	io.Closer
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
}

// newStreamLog creates (empties) the stream's file, removes what an
// earlier run of the same task left of it and opens the pipe. The
// caller gives the write end to the task and closes its own copy.
func newStreamLog(path string, max int64, log *slog.Logger) (*streamLog, *os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	for _, s := range []string{prevSuffix, droppedSuffix, droppedSuffix + tmpSuffix, newSuffix} {
		_ = os.Remove(path + s)
	}
	r, w, err := os.Pipe()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("log pipe: %w", err)
	}
	return &streamLog{path: path, max: max, log: log, pipe: r, done: make(chan struct{}), f: f}, w, nil
}

// run copies the pipe to the file until every writer is gone (or
// drainFor's time passed), then closes the file, its modification time the
// task's end.
func (l *streamLog) run() {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.pipe.Read(buf)
		if n > 0 {
			l.write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	l.close()
}

// drainFor has run end once the pipe's writers are gone or d passed,
// whichever is first: what is in the pipe is read at once.
func (l *streamLog) drainFor(d time.Duration) {
	_ = l.pipe.SetReadDeadline(time.Now().Add(d))
}

// close ends the stream: the pipe and the file are closed and the file's
// modification time says when (the task's end, for retention).
func (l *streamLog) close() {
	l.pipe.Close()
	l.mu.Lock()
	if lost := l.lost; lost > 0 && !l.mendLocked(true) {
		// The disk is still full as the output ends: no room to say so
		// in words, but the hole takes none, and the log ends where the
		// output did.
		if l.mendLocked(false) {
			l.log.Warn("a task's output ended while its log could not be written: its last bytes are a hole (NUL bytes) at the log's end",
				"file", l.path, "bytes_lost", lost)
		} else {
			l.log.Warn("a task's output ended while its log could not be written: the log ends short of the output by the bytes lost",
				"file", l.path, "bytes_lost", l.lost)
		}
	}
	l.f.Close()
	now := time.Now()
	_ = os.Chtimes(l.path, now, now)
	l.mu.Unlock()
	close(l.done)
}

// write appends b to the stream, rotating the file as it reaches max.
// A failure (a full disk) loses the bytes, not the task: the pipe is
// still read, and the bytes lost keep their place in the file
// (mendLocked), so that its offsets stay those of the whole output.
func (l *streamLog) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(b) > 0 {
		if l.lost > 0 && !l.mendLocked(true) {
			l.lost += int64(len(b))
			return
		}
		n := len(b)
		if l.max > 0 {
			if l.size >= l.max {
				if err := l.rotateLocked(); err != nil {
					l.warnLocked("cannot rotate a task's log; it grows past its limit", err)
				}
			}
			if l.size < l.max {
				n = int(min(int64(n), l.max-l.size))
			}
		}
		w, err := l.f.Write(b[:n])
		l.size += int64(w)
		if w > 0 {
			l.midLine = b[w-1] != '\n'
		}
		if err != nil {
			l.lost += int64(len(b) - w)
			l.warnLocked("cannot write a task's log; its output is lost until writes succeed again", err)
			if l.onFull != nil && noRoom(err) {
				l.onFull(fmt.Errorf("write a task's log %s: %w", l.path, err))
			}
			return
		}
		l.failing = false
		b = b[n:]
	}
}

// lostLine is the line that takes the place of n bytes of stream that
// could not be written, at their beginning: the rest of their place is a
// hole in the file (NUL bytes when read, no room on the disk).
func lostLine(stream string, n int64, midLine bool) []byte {
	line := fmt.Appendf(nil, "[carnot: %d bytes of %s were lost: the agent could not write them to its log (a full disk?)]\n", n, stream)
	if midLine {
		line = append([]byte{'\n'}, line...)
	}
	return line
}

// mendLocked gives the bytes lost their place in the file: lostLine when
// it fits in them and mark is set, then a hole for the rest, the file
// extended over it (without mark, all of them: a hole needs no room on
// the disk, the line does).
// They are rotated as the output they stand for would have been, so that
// no more than twice the limit is kept of a long loss either; of one
// longer than the files keep, the whole files that would only have been
// rotated away are counted dropped at once (skipHolesLocked). It says
// whether it could; if not, what is left of them is still lost.
func (l *streamLog) mendLocked(mark bool) bool {
	lost := l.lost
	stream := strings.TrimPrefix(filepath.Ext(l.path), ".")
	line := lostLine(stream, l.lost, l.midLine)
	if !mark || int64(len(line)) > l.lost {
		line = nil
	}
	// Whether the current file and the previous one (.1) hold nothing
	// but the hole: then only the count of bytes dropped tells the
	// rotations that would follow apart.
	holeCur, holePrev := false, false
	for l.lost > 0 {
		if l.max > 0 && l.size >= l.max {
			if holeCur && holePrev && l.lost > l.max && l.skipHolesLocked() {
				continue
			}
			if err := l.rotateLocked(); err != nil {
				l.warnLocked("cannot rotate a task's log; it grows past its limit", err)
			} else {
				holeCur, holePrev = len(line) == 0, holeCur
			}
		}
		n := l.lost
		if l.max > 0 && l.size < l.max {
			n = min(n, l.max-l.size)
		}
		if len(line) > 0 {
			w, err := l.f.Write(line[:min(n, int64(len(line)))])
			l.size, l.lost, line = l.size+int64(w), l.lost-int64(w), line[w:]
			if w > 0 {
				l.midLine = true // the line's end is a newline: set below
			}
			if err != nil {
				return false
			}
			if len(line) == 0 {
				l.midLine = false
			}
			continue
		}
		// The file is extended over the hole (no room on the disk
		// needed), not only seeked over: a rotation or the task's end
		// before anything more is written must find it that long.
		end := l.size + n
		if err := l.f.Truncate(end); err != nil {
			return false
		}
		if _, err := l.f.Seek(end, io.SeekStart); err != nil {
			return false
		}
		l.size, l.lost = end, l.lost-n
		l.midLine = true // NUL bytes
	}
	if mark {
		l.log.Warn("a task's log is written again; the output lost meanwhile is marked in it", "file", l.path, "bytes_lost", lost)
	}
	return true
}

// skipHolesLocked counts dropped at once the rotations a loss still to
// be placed would go through while its files, the current one full and
// the previous one, are nothing but the hole: each would drop a file of
// max bytes of the hole and begin another just like it. What is left is
// placed by the last rotation, as any. It writes the new count (synced,
// naming .1's inode, as rotateLocked does) and says whether it could.
func (l *streamLog) skipHolesLocked() bool {
	m := (l.lost - 1) / l.max // leaves 1 to max bytes to place
	ino := inodeOf(l.path + prevSuffix)
	if m == 0 || ino == 0 {
		return false
	}
	dropped := l.dropped + m*l.max
	if err := replaceFile(l.path+droppedSuffix, fmt.Appendf(nil, "%d %d\n", dropped, ino), true); err != nil {
		return false
	}
	l.dropped, l.lost = dropped, l.lost-m*l.max
	l.gen++ // a view taken before counts its offsets from the old count
	return true
}

func (l *streamLog) warnLocked(msg string, err error) {
	if !l.failing {
		l.log.Warn(msg, "file", l.path, "err", err)
	}
	l.failing = true
}

// rotateHook, a test hook, runs in a rotation once the count of bytes
// dropped is written, before the files are renamed; an error stops the
// rotation there (a crash, a rename that fails). Nil outside tests.
var rotateHook func() error

// rotateLocked makes the current file the previous one (dropping the
// previous) and starts an empty one. Readers take their view under the
// lock, so they never see the files half rotated.
func (l *streamLog) rotateLocked() error {
	f, err := os.OpenFile(l.path+newSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	dropped := l.dropped + l.prev
	if dropped != l.dropped {
		// Replaced whole and synced: a crash leaves the old count or the
		// new one, never a part of it. With it, the inode of the file
		// that is to become .1: a rotation stopped before the renames
		// leaves the new count beside the old files, which the inode
		// tells apart (droppedOf).
		var ino uint64
		if st, err := l.f.Stat(); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				ino = sys.Ino
			}
		}
		b := fmt.Appendf(nil, "%d %d\n", dropped, ino)
		if err := replaceFile(l.path+droppedSuffix, b, true); err != nil {
			f.Close()
			return err
		}
	}
	if rotateHook != nil {
		if err := rotateHook(); err != nil {
			f.Close()
			return err
		}
	}
	if err := os.Rename(l.path, l.path+prevSuffix); err != nil {
		f.Close()
		return err
	}
	if err := os.Rename(l.path+newSuffix, l.path); err != nil {
		// The current file is gone: keep writing to the previous one.
		f.Close()
		return err
	}
	l.f.Close()
	l.f, l.dropped, l.prev, l.size = f, dropped, l.size, 0
	l.gen++
	return nil
}

// rotations is how many times the stream was rotated.
func (l *streamLog) rotations() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// logView is what was kept of a stream when it was opened, its files open
// in order: reading them goes on while the stream is rotated.
type logView struct {
	segs    []segment
	dropped int64 // bytes of the output before segs[0]
	// droppedUnknown: some of the beginning was dropped, but how much
	// could not be read (a torn .dropped file); dropped is then 0
	droppedUnknown bool
	src            *streamLog // the running task's stream; nil: files no one writes
	gen            int        // src's rotations when the view was opened
}

// segment is one file of a view.
type segment struct {
	f    *os.File
	base int64 // offset in the whole output of its first byte
	end  int64 // offset past its last byte; -1: the current file, growing
}

// openView opens what is kept of the stream at path, written by src (nil
// once no one writes it). It is fs.ErrNotExist when nothing is.
func openView(path string, src *streamLog) (*logView, error) {
	if src == nil {
		return openFinishedView(path)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	v := &logView{dropped: src.dropped, src: src, gen: src.gen}
	if src.prev > 0 {
		f, err := os.Open(path + prevSuffix)
		if err != nil {
			return nil, err
		}
		v.segs = append(v.segs, segment{f: f, base: src.dropped, end: src.dropped + src.prev})
	}
	f, err := os.Open(path)
	if err != nil {
		v.close()
		return nil, err
	}
	v.segs = append(v.segs, segment{f: f, base: src.dropped + src.prev, end: -1})
	return v, nil
}

// openFinishedView opens the files of a stream no one writes any more.
func openFinishedView(path string) (*logView, error) {
	v := &logView{}
	if b, err := os.ReadFile(path + droppedSuffix); err == nil {
		v.dropped, v.droppedUnknown = droppedOf(path, b)
	}
	base := v.dropped
	for _, p := range []string{path + prevSuffix, path} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			v.close()
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			v.close()
			return nil, err
		}
		v.segs = append(v.segs, segment{f: f, base: base, end: base + st.Size()})
		base += st.Size()
	}
	if len(v.segs) == 0 {
		return nil, fs.ErrNotExist
	}
	return v, nil
}

// parseDropped reads a .dropped file: a count of bytes, then the inode
// of the file it was written to make .1 (absent from older agents'
// files), and a newline, as rotateLocked writes it. Anything else (a
// file torn by a crash of an agent that wrote it in place, or by the
// disk) is no count: unknown, and 0, rather than its digits taken for
// one, which would shift every offset served.
func parseDropped(b []byte) (n int64, ino uint64, unknown bool) {
	s, ok := strings.CutSuffix(string(b), "\n")
	count, inode, withIno := strings.Cut(s, " ")
	if !ok || !isDigits(count) || withIno && !isDigits(inode) {
		return 0, 0, true
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil {
		return 0, 0, true
	}
	if withIno {
		if ino, err = strconv.ParseUint(inode, 10, 64); err != nil {
			return 0, 0, true
		}
	}
	return n, ino, false
}

func isDigits(s string) bool { return s != "" && strings.TrimLeft(s, "0123456789") == "" }

// droppedOf is the count of bytes dropped before the files of the stream
// at path that its .dropped file (b) says. A count written by a rotation
// that stopped before its renames (the agent died; a rename failed) is
// ahead of the files by the .1 file it was to drop: the file it names
// by its inode is still the current one, not .1.
func droppedOf(path string, b []byte) (n int64, unknown bool) {
	n, ino, unknown := parseDropped(b)
	if unknown || ino == 0 || inodeOf(path+prevSuffix) == ino || inodeOf(path) != ino {
		return n, unknown
	}
	var prev int64
	if st, err := os.Stat(path + prevSuffix); err == nil {
		prev = st.Size()
	}
	return max(n-prev, 0), false
}

// inodeOf is the inode of the file at path; 0 when there is none.
func inodeOf(path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ino
	}
	return 0
}

// stale reports whether the stream was rotated since the view was
// opened: once read to its end, the view must be opened again.
func (v *logView) stale() bool { return v.src != nil && v.src.rotations() != v.gen }

func (v *logView) close() {
	for _, s := range v.segs {
		s.f.Close()
	}
}

// copyFrom writes the output from offset pos (skipping what was dropped)
// to w and returns the offset it reached.
func (v *logView) copyFrom(w io.Writer, pos int64) (int64, error) {
	for _, s := range v.segs {
		if s.end >= 0 && pos >= s.end {
			continue
		}
		pos = max(pos, s.base)
		if _, err := s.f.Seek(pos-s.base, io.SeekStart); err != nil {
			return pos, err
		}
		var r io.Reader = s.f
		if s.end >= 0 {
			r = io.LimitReader(s.f, s.end-pos)
		}
		n, err := io.Copy(w, r)
		pos += n
		if err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// noRoom reports whether a write failed for want of a disk to write on:
// full, over its quota, read-only, or failing.
func noRoom(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
