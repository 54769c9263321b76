package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Retention bounds what the tasks leave under the data directory: their
// logs (DataDir/logs) and their default work directories (DataDir/work).
// Zero values take the defaults noted; a negative value is no limit.
//
// The data of a task the agent runs, whose end it has not reported yet,
// or that the server still lists, is never deleted. That of a finished
// task of a job the server says is not finished
// (api.Assignments.UnfinishedJobs: it runs on elsewhere, or waits to run
// again) is deleted only by DiskPercent, after all the rest. The rest is
// ranked by its job's last activity on the node (now while the job has a
// task here that is never deleted, else the end of its last task here),
// then by its own end: a job's finished tasks age together from the
// job's last end, so that the logs of a gang's replica that ended early,
// or of an earlier attempt, are kept while the job runs on. Deleted are
// the tasks ranked beyond MaxTasks, those whose job's last activity is
// older than MaxAge, and, oldest first, as many as it takes to bring the
// file system of the data directory under DiskPercent.
type Retention struct {
	// MaxTasks is how many finished tasks' data is kept at most, the
	// newest, besides that of unfinished jobs; default 100.
	MaxTasks int
	// MaxAge is how long a finished task's data is kept after its job's
	// last end on the node, once the server no longer names the job
	// unfinished; default 7 days.
	MaxAge time.Duration
	// DiskPercent is the usage of the data directory's file system above
	// which finished tasks' data is deleted, oldest first, that of
	// unfinished jobs last; default 90.
	DiskPercent float64
	// Interval is how often the data is checked; default 1 minute.
	Interval time.Duration
	// LogMaxBytes is the size at which a task's stdout or stderr file is
	// rotated (tasklog.go): at most twice it is kept of each stream;
	// default 64 MiB.
	LogMaxBytes int64
}

// Retention defaults.
const (
	DefaultMaxTasks    = 100
	DefaultMaxAge      = 7 * 24 * time.Hour
	DefaultDiskPercent = 90
	DefaultGCInterval  = time.Minute
	DefaultLogMaxBytes = 64 << 20
)

// withDefaults fills the zero values.
func (r Retention) withDefaults() Retention {
	r.MaxTasks = cmp.Or(r.MaxTasks, DefaultMaxTasks)
	r.MaxAge = cmp.Or(r.MaxAge, DefaultMaxAge)
	r.DiskPercent = cmp.Or(r.DiskPercent, DefaultDiskPercent)
	r.Interval = cmp.Or(r.Interval, DefaultGCInterval)
	if r.Interval < 0 {
		r.Interval = DefaultGCInterval
	}
	r.LogMaxBytes = cmp.Or(r.LogMaxBytes, DefaultLogMaxBytes)
	return r
}

// trashDir, in the data directory, holds task data being deleted: it is
// moved there (at once, under the agent's lock, so that no task of the
// same name starts meanwhile) and removed from there.
const trashDir = "trash"

// taskData is what one task left in the data directory.
type taskData struct {
	key   dataKey
	end   time.Time // its logs' last modification (their end), else its work directory's
	paths []string  // relative to the data directory
}

// dataKey names a task's data: its directory names (the job's
// sanitized).
type dataKey struct{ job, attempt, replica string }

func dataKeyOf(k taskKey) dataKey {
	return dataKey{sanitize(k.Job), strconv.Itoa(k.Attempt), strconv.Itoa(k.Replica)}
}

// retentionPlan is the pure part of the collection: of found, less the
// tasks in held, what to delete now (beyond the count, past the age) and
// the rest in the order to delete while the disk is too full, the tasks
// of the jobs in unfinished last (neither counted nor aged). active holds
// the jobs with a held task.
func retentionPlan(found []taskData, held map[dataKey]bool, active, unfinished map[string]bool, now time.Time, r Retention) (expired, byDisk []taskData) {
	last := map[string]time.Time{}
	var cands []taskData
	for _, d := range found {
		if held[d.key] {
			continue
		}
		cands = append(cands, d)
		if active[d.key.job] || unfinished[d.key.job] {
			last[d.key.job] = now
		} else if d.end.After(last[d.key.job]) {
			last[d.key.job] = d.end
		}
	}
	slices.SortFunc(cands, func(x, y taskData) int { // newest first
		return cmp.Or(last[y.key.job].Compare(last[x.key.job]), y.end.Compare(x.end),
			cmp.Compare(x.key.job, y.key.job), cmp.Compare(x.key.attempt, y.key.attempt),
			cmp.Compare(x.key.replica, y.key.replica))
	})
	var spared []taskData // of unfinished jobs
	counted := 0
	for _, d := range cands {
		switch {
		case unfinished[d.key.job]:
			spared = append(spared, d)
		case r.MaxTasks >= 0 && counted >= r.MaxTasks || r.MaxAge >= 0 && now.Sub(last[d.key.job]) > r.MaxAge:
			expired = append(expired, d)
		default:
			byDisk = append(byDisk, d)
			counted++
		}
	}
	slices.Reverse(byDisk)
	slices.Reverse(spared)
	return expired, append(byDisk, spared...)
}

// collectLoop deletes finished tasks' data every Retention.Interval until
// ctx is done.
func (a *Agent) collectLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.Retention.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.collect(time.Now()); err != nil {
			a.log.Warn("cannot delete old task data", "err", err)
		}
	}
}

// collect deletes the finished tasks' data that the retention limits
// leave out. Everything it deletes is found by listing the agent's own
// directories through an os.Root of the data directory, and only names
// the agent makes are taken: nothing outside them, and no link, is
// followed.
func (a *Agent) collect(now time.Time) error {
	root, err := os.OpenRoot(a.cfg.DataDir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.RemoveAll(trashDir); err != nil {
		return fmt.Errorf("emptying %s: %w", trashDir, err)
	}
	found := scanTaskData(root.FS())
	if len(found) == 0 {
		return nil
	}
	a.mu.Lock()
	held, active := a.heldLocked()
	unfinished := a.unfinished // replaced, never changed
	a.mu.Unlock()
	ret := a.cfg.Retention
	expired, byDisk := retentionPlan(found, held, active, unfinished, now, ret)
	n := 0
	for _, d := range expired {
		if a.discard(root, d, n) {
			n++
		}
	}
	for ; len(byDisk) > 0 && ret.DiskPercent >= 0; byDisk = byDisk[1:] {
		used, err := a.diskUsed()
		if err != nil {
			a.log.Warn("cannot read the data directory's disk usage", "err", err)
			break
		}
		if used <= ret.DiskPercent {
			break
		}
		d := byDisk[0]
		if a.discard(root, d, n) {
			n++
			if unfinished[d.key.job] {
				a.log.Warn("the data directory's disk is fuller than --gc-disk-percent: deleted the logs and work directory "+
					"of a finished task whose job is not finished",
					"job", d.key.job, "attempt", d.key.attempt, "replica", d.key.replica,
					"disk_percent", fmt.Sprintf("%.1f", used), "limit", ret.DiskPercent)
			}
		}
	}
	if n > 0 {
		a.log.Info("deleted the logs and work directories of finished tasks", "tasks", n,
			"kept", len(found)-n, "max_tasks", ret.MaxTasks, "max_age", ret.MaxAge)
	}
	return root.RemoveAll(trashDir)
}

// heldLocked is the tasks whose data is never deleted: those the agent
// runs, whose end it has not reported or that the server lists; and
// their jobs.
func (a *Agent) heldLocked() (map[dataKey]bool, map[string]bool) {
	held, active := map[dataKey]bool{}, map[string]bool{}
	hold := func(k taskKey) {
		held[dataKeyOf(k)] = true
		active[sanitize(k.Job)] = true
	}
	for k := range a.tasks {
		hold(k)
	}
	for k := range a.listed {
		hold(k)
	}
	return held, active
}

// discard moves a task's data to the trash (the i-th of this
// collection), unless the task is held by now, and removes its attempt's
// and job's directories if that left them empty. It holds the agent's
// lock: no task starts meanwhile, so none finds its directory gone.
func (a *Agent) discard(root *os.Root, d taskData, i int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if held, _ := a.heldLocked(); held[d.key] {
		return false
	}
	dst := path.Join(trashDir, strconv.Itoa(i))
	if err := root.MkdirAll(dst, 0o700); err != nil {
		a.log.Warn("cannot delete a finished task's data", "err", err)
		return false
	}
	for j, p := range d.paths {
		if err := root.Rename(p, path.Join(dst, strconv.Itoa(j))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("cannot delete a finished task's data", "path", p, "err", err)
		}
	}
	for _, area := range []string{"logs", "work"} {
		_ = root.Remove(path.Join(area, d.key.job, d.key.attempt)) // when empty
		_ = root.Remove(path.Join(area, d.key.job))
	}
	return true
}

// scanTaskData lists the tasks' data under logs/ and work/ of the data
// directory: logs/<job>/<attempt>/<replica>.<stream>[.1|.dropped|.dropped.tmp|.new]
// files and work/<job>/<attempt>/<replica> directories. Other names and
// anything that is not a plain file or directory (a link) are left
// alone.
func scanTaskData(fsys fs.FS) []taskData {
	byKey := map[dataKey]*taskData{}
	var order []dataKey
	add := func(k dataKey, p string, mod time.Time, isLog bool) {
		d := byKey[k]
		if d == nil {
			d = &taskData{key: k}
			byKey[k] = d
			order = append(order, k)
		}
		d.paths = append(d.paths, p)
		if isLog && mod.After(d.end) || d.end.IsZero() {
			d.end = mod
		}
	}
	for _, area := range []string{"logs", "work"} {
		walkAttempts(fsys, area, func(job, attempt string, e fs.DirEntry) {
			info, err := e.Info()
			if err != nil {
				return
			}
			p := path.Join(area, job, attempt, e.Name())
			switch {
			case area == "logs" && e.Type().IsRegular():
				if replica, ok := logFileReplica(e.Name()); ok {
					add(dataKey{job, attempt, replica}, p, info.ModTime(), true)
				}
			case area == "work" && e.IsDir() && isIndex(e.Name()):
				add(dataKey{job, attempt, e.Name()}, p, info.ModTime(), false)
			}
		})
	}
	out := make([]taskData, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

// walkAttempts calls f with each entry of area/<job>/<attempt>/, for
// the job and attempt directories (not links) whose names the agent
// makes.
func walkAttempts(fsys fs.FS, area string, f func(job, attempt string, e fs.DirEntry)) {
	jobs, _ := fs.ReadDir(fsys, area)
	for _, j := range jobs {
		if !j.IsDir() || sanitize(j.Name()) != j.Name() {
			continue
		}
		attempts, _ := fs.ReadDir(fsys, path.Join(area, j.Name()))
		for _, at := range attempts {
			if !at.IsDir() || !isIndex(at.Name()) {
				continue
			}
			ents, _ := fs.ReadDir(fsys, path.Join(area, j.Name(), at.Name()))
			for _, e := range ents {
				f(j.Name(), at.Name(), e)
			}
		}
	}
}

// logFileReplica is the replica of a log file's name,
// <replica>.<stream> with one of the suffixes of tasklog.go.
func logFileReplica(name string) (string, bool) {
	replica, rest, _ := strings.Cut(name, ".")
	if !isIndex(replica) {
		return "", false
	}
	for _, stream := range []string{"stdout", "stderr"} {
		for _, suffix := range []string{"", prevSuffix, droppedSuffix, droppedSuffix + tmpSuffix, newSuffix} {
			if rest == stream+suffix {
				return replica, true
			}
		}
	}
	return "", false
}

// isIndex reports whether s is a number as strconv.Itoa writes one that
// is not negative.
func isIndex(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && strconv.Itoa(n) == s
}

// diskUsage is the used share, in percent, of the file system holding
// dir, as df counts it (blocks reserved for root count as not available).
func diskUsage(dir string) (float64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	used := float64(st.Blocks - st.Bfree)
	total := used + float64(st.Bavail)
	if total <= 0 {
		return 0, nil
	}
	return 100 * used / total, nil
}
