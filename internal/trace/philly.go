package trace

import (
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

// Columns of the Philly per-job CSV.
const (
	ColTimestamp = "timestamp"
	ColDuration  = "duration"
	ColNumGPUs   = "num_gpus"
	ColGPUTime   = "gpu_time"
	ColCluster   = "cluster"
)

// Limits of the Philly reader: values beyond them are typos.
const (
	GPUsPerNode    = 8               // GPUs per Philly node; larger jobs are gangs of whole nodes
	MaxJobGPUs     = 65536           // most GPUs one job may ask for
	MaxRunTime     = 366 * model.Day // longest run time (the trace's is 53 days)
	GPUTimeTolPct  = 1               // allowed gap between gpu_time and duration × num_gpus, %
	timestampShape = "2006-01-02 15:04:05"
)

var phillyColumns = []string{ColTimestamp, ColDuration, ColNumGPUs, ColGPUTime, ColCluster}

// LoadPhilly reads a Philly per-job CSV file; see ReadPhilly.
func LoadPhilly(path string, opt Options) ([]*model.Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadPhilly(path, f, opt)
}

// ReadPhilly reads the Philly per-job CSV (header
// timestamp,duration,num_gpus,gpu_time,cluster; rows in any order) from
// r; name is used in errors. It returns the jobs sorted by (SubmitTime,
// ID), or an Errors list naming every malformed value (at most
// MaxErrors), or a plain error for invalid options.
//
// Row n (the n-th data row: line n+1 in a file without blank lines or
// quoted line breaks) becomes the gang "philly-n":
//
//   - SubmitTime is timestamp, "YYYY-MM-DD HH:MM:SS". The trace records
//     the cluster's local wall clock without a zone; it is read as UTC,
//     so times are shifted by the cluster's UTC offset but intervals are
//     kept (except across a DST change, by at most an hour).
//   - num_gpus of at most GPUsPerNode (8) is one replica of num_gpus
//     GPUs. A larger job is a gang of ⌈num_gpus/8⌉ equal replicas, the
//     fewest nodes it can use: a multiple of 8 gives num_gpus/8 replicas
//     × 8 GPUs, and 12 (7 jobs of the Sep–Oct file) gives 2 × 6. A
//     count those replicas cannot share equally (11, 13, 20, …) is an
//     error.
//   - RuntimeLimit is duration rounded up to whole seconds. The trace's
//     duration is the job's measured run time, not a user's limit, so
//     RuntimeLimit carries the true run time: the twin runs the job for
//     exactly that long, and backfill gets a perfect estimate.
//   - gpu_time must equal duration × num_gpus within GPUTimeTolPct %.
//   - Tenant is Options.TenantPrefix + cluster (the virtual cluster).
//   - Kind is job (all replicas start together), Topology is site
//     preferred, MinReplicas is Replicas, the job is not preemptible and
//     has no checkpoint grace, deadline or jurisdiction of its own.
//     PriorityClass, CPUs and memory per GPU and GPUModels come from opt.
//
// Options then cut the window, sample and scale arrivals (see Options).
func ReadPhilly(name string, r io.Reader, opt Options) ([]*model.Job, error) {
	opt, err := opt.check()
	if err != nil {
		return nil, err
	}
	c := &collector{file: name}
	t, ok := openTable(r, c, phillyColumns)
	if !ok {
		return nil, c.err()
	}
	var (
		jobs   []*model.Job
		rows   []int
		slab   []model.Job           // jobs are allocated in blocks
		tenant = map[string]string{} // one string per tenant
	)
	for n := 1; ; n++ {
		rec, _, ok := t.next()
		if !ok {
			break
		}
		if len(slab) == 0 {
			slab = make([]model.Job, 1024)
		}
		j := &slab[0]
		j.ID = "philly-" + strconv.Itoa(n)
		if !t.philly(rec, j, &opt) {
			*j = model.Job{}
			continue
		}
		if name, ok := tenant[j.Tenant]; ok {
			j.Tenant = name
		} else {
			j.Tenant = strings.Clone(j.Tenant)
			tenant[j.Tenant] = j.Tenant
		}
		slab = slab[1:]
		jobs = append(jobs, j)
		rows = append(rows, n)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return opt.apply(jobs, rows), nil
}

// philly fills j from one row and reports whether every value was valid.
func (t *table) philly(rec []string, j *model.Job, opt *Options) bool {
	before := t.c.Count()
	get := func(col string) string { return rec[t.col[col]] }
	bad := func(col, format string, args ...any) {
		line, pos := t.pos(col)
		t.c.add(line, pos, col, format, args...)
	}

	ts, err := time.Parse(timestampShape, get(ColTimestamp))
	switch {
	case err != nil || ts.Nanosecond() != 0: // Parse takes a fraction the shape has not
		bad(ColTimestamp, "%q is not a time like 2017-09-04 10:30:41 (YYYY-MM-DD HH:MM:SS)", short(get(ColTimestamp)))
	case ts.Unix() <= 0:
		bad(ColTimestamp, "%q is not after 1970-01-01 00:00:00; use the submit time of the job", get(ColTimestamp))
	default:
		j.SubmitTime = model.Time(ts.Unix())
	}

	dur, err := strconv.ParseFloat(get(ColDuration), 64)
	durOK := err == nil && dur > 0 && dur <= float64(MaxRunTime)
	if !durOK {
		bad(ColDuration, "%q is not a run time in seconds above 0 and at most %d (e.g. 3600.0)", short(get(ColDuration)), int64(MaxRunTime))
	}
	j.RuntimeLimit = model.Duration(math.Ceil(dur))

	gpus, err := strconv.Atoi(get(ColNumGPUs))
	gpusOK := err == nil && gpus >= 1 && gpus <= MaxJobGPUs
	switch {
	case !gpusOK:
		bad(ColNumGPUs, "%q is not a whole number of GPUs from 1 to %d", short(get(ColNumGPUs)), MaxJobGPUs)
	default:
		j.Replicas, j.GPUsPerReplica = gang(gpus)
		if j.Replicas == 0 {
			gpusOK = false
			r := (gpus + GPUsPerNode - 1) / GPUsPerNode
			bad(ColNumGPUs, "%d GPUs cannot be split into %d equal replicas of at most %d GPUs (one node each); use a multiple of %d, or a count that %d nodes share equally", gpus, r, GPUsPerNode, GPUsPerNode, r)
		}
	}

	gt, err := strconv.ParseFloat(get(ColGPUTime), 64)
	switch {
	case err != nil || !(gt >= 0) || math.IsInf(gt, 0):
		bad(ColGPUTime, "%q is not a number of GPU-seconds (duration × num_gpus)", short(get(ColGPUTime)))
	case durOK && gpusOK:
		if want := dur * float64(gpus); math.Abs(gt-want) > want*GPUTimeTolPct/100 {
			bad(ColGPUTime, "%s differs from duration × num_gpus = %s by more than %d %%; fix gpu_time, duration or num_gpus", get(ColGPUTime), strconv.FormatFloat(want, 'f', -1, 64), GPUTimeTolPct)
		}
	}

	vc := get(ColCluster)
	if !validIdent(vc) {
		bad(ColCluster, "%q is not a virtual-cluster id; %s", short(vc), identHint)
	}
	j.Tenant = opt.TenantPrefix + vc

	j.Kind = model.KindJob
	j.MinReplicas = j.Replicas
	j.PriorityClass = opt.PriorityClass
	j.CPUsPerReplica = opt.CPUsPerGPU * j.GPUsPerReplica
	j.MemGiBPerReplica = opt.MemGiBPerGPU * j.GPUsPerReplica
	j.GPUModels = opt.GPUModels
	j.Topology = model.Topology{Level: model.LevelSite}
	return t.c.Count() == before
}

// gang splits n GPUs into ⌈n/GPUsPerNode⌉ equal replicas, the fewest
// that fit on nodes; replicas is 0 when they cannot be equal.
func gang(n int) (replicas, perReplica int) {
	r := (n + GPUsPerNode - 1) / GPUsPerNode
	if n%r != 0 {
		return 0, 0
	}
	return r, n / r
}

const identHint = "use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)"

// validIdent reports whether s is a name the facility format accepts.
func validIdent(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// short cuts a value for an error message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
