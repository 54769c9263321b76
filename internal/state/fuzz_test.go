package state

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzLoad checks that Load never panics, that every error names the
// file (and a line within it, when it has one), and that what loads is
// consistent: every job is running or pending (or both, for a partly
// running deployment), and no GPU is held twice.
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile(exampleState); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"now: 1767614400\nrunning:\n  - {job: chat, started: 1, placement: h100-3:7, power_cap_w: 500}\n",
		"running:\n  - job: lab-b-pretrain\n    started: 2026-01-05T06:00:00Z\n    placement: [\"h100-1:0-7\", \"h100-2:0-3,4-7\"]\n    terminating: true\n    evict_at: 2026-01-05T12:10:00Z\n    preempted_for: lab-a-finetune\n",
		"nodes:\n  - {name: h100-3, dirty_gpus: \"4-5\", last_tenant: lab-b, claimed_by: lab-a-finetune}\n  - {name: h100-4, condition: down, claimed_gpus: [6], claimed_by: chat}\n",
		"usage:\n  - {tenant: interns, gpu_hours: 2.5, as_of: 5}\nrecent_preemptions: [1, 2]\n",
		"a: &a [1, 2]\nrunning: [{job: prep, started: 1, placement: [h100-4], <<: {x: *a}}]\n",
		"running: [{job: lab-a-sft, started: 1, placement: [{h100-1: 0-3}, [x]]}]\n",
		"nodes: [{name: h100-1, dirty_gpus: \"0-99999999999\"}]\n---\nnow: 1\n",
		"\t- : -\n? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	fac, jobs := fixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		nlines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		st, err := Load("fuzz.yaml", data, fac, jobs)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 || e.Line > nlines {
					t.Fatalf("bad error entry %#v (file has %d lines)", e, nlines)
				}
			}
			return
		}
		seen := map[string]int{}
		for _, j := range st.Pending {
			seen[j.ID]++
		}
		type gpu struct {
			node string
			i    int
		}
		held := map[gpu]bool{}
		for _, a := range st.Running {
			seen[a.Job.ID]++
			for _, p := range a.Replicas {
				for _, g := range p.GPUs {
					if held[gpu{p.Node, g}] {
						t.Fatalf("GPU %s:%d held twice", p.Node, g)
					}
					held[gpu{p.Node, g}] = true
				}
			}
		}
		for _, j := range jobs {
			if seen[j.ID] < 1 || seen[j.ID] > 2 {
				t.Fatalf("job %s appears %d times", j.ID, seen[j.ID])
			}
		}
	})
}
