package scenario

import (
	"github.com/carnot-dc/carnot/internal/workload"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

var (
	workloadKeys = []string{"file", "generate", "batch", "shift_to", "flexible"}
	generateKeys = []string{"jobs", "seed", "start", "load"}
	batchKeys    = []string{"jobs", "start", "every", "runtime", "slack", "gpus", "replicas", "tenants", "priority_class", "seed"}
	flexibleKeys = []string{"share", "slack"}
)

const maxJobs = workload.MaxJobs

func (d *decoder) workload(n *yamlin.Node, dir string) WorkloadSpec {
	w := WorkloadSpec{Line: n.Line, At: map[string]int{}}
	sources := 0
	d.c.Fields(n, "workload", "a workload", workloadKeys, func(e yamlin.Entry) {
		p := yamlin.Join("workload", e.Key)
		w.At[e.Key] = e.Line
		switch e.Key {
		case "file":
			sources++
			if f, ok := d.str(e.Val, p); ok {
				w.File = resolve(dir, f)
			}
		case "generate":
			sources++
			w.Generate = d.generate(e.Val, p)
		case "batch":
			sources++
			w.Batch = d.batch(e.Val, p)
		case "shift_to":
			w.ShiftTo, _ = d.timestamp(e.Val, p)
		case "flexible":
			w.Flexible = d.flexible(e.Val, p)
		}
	})
	if n.Kind == yamlin.KindMap && sources == 0 {
		d.c.Add(n.Line, "workload", "give at least one of file:, generate: and batch: (their jobs are added up)")
	}
	return w
}

func (d *decoder) generate(n *yamlin.Node, path string) *GenerateSpec {
	g := &GenerateSpec{Jobs: -1}
	d.c.Fields(n, path, "generated jobs", generateKeys, func(e yamlin.Entry) {
		p := yamlin.Join(path, e.Key)
		switch e.Key {
		case "jobs":
			v, _ := d.c.Integer(e.Val, p, 1, maxJobs)
			g.Jobs = int(v)
		case "seed":
			g.Seed, _ = d.c.Integer(e.Val, p, -1<<53, 1<<53)
		case "start":
			g.Start, _ = d.timestamp(e.Val, p)
		case "load":
			g.Load, _ = d.number(e.Val, p, 0, 10, true)
		}
	})
	if n.Kind == yamlin.KindMap {
		d.require(n, path, "jobs", "the number of jobs, e.g. jobs: 500")
		d.require(n, path, "start", "the first submission, e.g. start: 2023-03-01T00:00:00Z (the grid series' year)")
	}
	return g
}

func (d *decoder) batch(n *yamlin.Node, path string) *BatchSpec {
	b := &BatchSpec{Replicas: 1, PriorityClass: "normal", Line: n.Line, At: map[string]int{}}
	d.c.Fields(n, path, "a batch of jobs", batchKeys, func(e yamlin.Entry) {
		p := yamlin.Join(path, e.Key)
		b.At[e.Key] = e.Line
		switch e.Key {
		case "jobs":
			v, _ := d.c.Integer(e.Val, p, 1, maxJobs)
			b.Jobs = int(v)
		case "start":
			b.Start, _ = d.timestamp(e.Val, p)
		case "every", "runtime", "slack":
			v, ok := d.duration(e.Val, p)
			if ok && v <= 0 && e.Key != "slack" {
				d.c.Add(e.Val.Line, p, "must be above 0")
			}
			switch e.Key {
			case "every":
				b.Every = v
			case "runtime":
				b.Runtime = v
			default:
				b.Slack = v
			}
		case "gpus":
			v, _ := d.c.Integer(e.Val, p, 1, 4096)
			b.GPUs = int(v)
		case "replicas":
			v, _ := d.c.Integer(e.Val, p, 1, 100_000)
			b.Replicas = int(v)
		case "tenants":
			b.Tenants = d.strings(e.Val, p)
			if e.Val.Kind == yamlin.KindSeq && len(e.Val.Items) == len(b.Tenants) {
				for _, it := range e.Val.Items {
					b.TenantAt = append(b.TenantAt, it.Line)
				}
			}
		case "priority_class":
			b.PriorityClass, _ = d.str(e.Val, p)
		case "seed":
			b.Seed, _ = d.c.Integer(e.Val, p, -1<<53, 1<<53)
		}
	})
	if n.Kind == yamlin.KindMap {
		for _, k := range [][2]string{{"jobs", "e.g. jobs: 300"}, {"start", "e.g. start: 2023-03-01T00:00:00Z"},
			{"every", "the mean gap between submissions, e.g. every: 2h"}, {"runtime", "e.g. runtime: 4h"},
			{"gpus", "GPUs per replica, e.g. gpus: 8"}, {"tenants", "e.g. tenants: [lab-a, lab-b]"}} {
			d.require(n, path, k[0], k[1])
		}
	}
	return b
}

func (d *decoder) flexible(n *yamlin.Node, path string) *FlexibleSpec {
	f := &FlexibleSpec{Share: 1}
	d.c.Fields(n, path, "a flexibility rule", flexibleKeys, func(e yamlin.Entry) {
		p := yamlin.Join(path, e.Key)
		switch e.Key {
		case "share":
			f.Share, _ = d.number(e.Val, p, 0, 1, false)
		case "slack":
			v, ok := d.duration(e.Val, p)
			if ok && v <= 0 {
				d.c.Add(e.Val.Line, p, "must be above 0")
			}
			f.Slack = v
		}
	})
	if n.Kind == yamlin.KindMap {
		d.require(n, path, "slack", "how long past its runtime a job may finish, e.g. slack: 12h")
	}
	return f
}

func (d *decoder) require(n *yamlin.Node, path, key, hint string) {
	if n.Get(key) == nil {
		d.c.Add(n.Line, path, "missing %s: %s", key, hint)
	}
}

// strings reads a string or a list of strings.
func (d *decoder) strings(n *yamlin.Node, path string) []string {
	if n.Kind != yamlin.KindSeq {
		if s, ok := d.str(n, path); ok {
			return []string{s}
		}
		return nil
	}
	var out []string
	for _, it := range n.Items {
		if s, ok := d.str(it, path); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		d.c.Add(n.Line, path, "must name at least one")
	}
	return out
}
