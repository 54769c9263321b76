package sim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestRepairsKeepTheEnvelope: with node failures, a tight envelope (the
// four nodes' idle draw plus room for eight GPUs at TDP) and more work
// than fits, the site must never draw more than its envelope. The core
// counted a failed node as drawing nothing and gave its base and idle
// power to work on the other nodes; when the node came back, the site
// drew 12,120 W against an 11,280 W envelope.
func TestRepairsKeepTheEnvelope(t *testing.T) {
	f := facility(4)
	f.Sites[0].PowerEnvelopeKW = 4*(1.0+8*0.07) + 8*0.63
	f.Policy.PowerCapping = false
	var jobs []*model.Job
	for i := range 60 {
		jobs = append(jobs, job(fmt.Sprintf("j%02d", i), "acme", "normal", 1, 1, t0.Add(model.Duration(i)*10*model.Minute), 3*model.Hour))
	}
	res, err := Run(Config{Facility: f, Jobs: jobs, Seed: 1, MTBF: 4 * model.Hour, MTTR: model.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for _, j := range res.Jobs {
		kills += j.Failures
	}
	if kills == 0 {
		t.Fatal("no node failure hit a job; the test does not exercise repairs")
	}
	if w, env := res.Sites["par"].MaxITW, f.Sites[0].PowerEnvelopeKW*1000; w > env+1e-6 {
		t.Fatalf("the site drew %.0f W, above its %.0f W envelope", w, env)
	}
}

// TestDeploymentScalesUp: a deployment that starts with fewer replicas
// than it asks for stays queued on the live server, and the core scales
// it up when room appears (its energy and its site's draw grow with
// it). The twin took it out of its queue at its first start, so it ran
// one replica for its whole life: here d started one of two replicas
// beside j1 and never got n1 when j1 ended.
func TestDeploymentScalesUp(t *testing.T) {
	j1 := job("j1", "acme", "normal", 1, 8, t0, model.Hour)
	d := job("d", "beta", "normal", 2, 8, t0+1, 3*model.Hour)
	d.Kind, d.MinReplicas, d.Topology = model.KindDeployment, 1, model.Topology{Level: model.LevelAny}
	var log bytes.Buffer
	res, err := Run(Config{Facility: facility(2), Jobs: []*model.Job{j1, d}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "2026-01-01T01:00:00Z start d on n1:") {
		t.Fatalf("d was not scaled up when j1 ended:\n%s", log.String())
	}
	r := res.Jobs[1]
	if r.End != t0+1+3*3600 || r.FirstStart != t0+1 {
		t.Errorf("d's record: start %s end %s", r.FirstStart, r.End)
	}
	// one replica for the first hour, two for the last two
	held := 0.0
	for _, st := range r.Runs {
		held += float64(st.GPUs) * float64(st.End-st.Start)
	}
	if want := float64(8*(3600-1) + 16*(2*3600+1)); held != want {
		t.Errorf("d held %.0f GPU-seconds, want %.0f", held, want)
	}
}

// A deployment that scaled up is charged, in its tenant's fair-share
// usage, each replica's GPUs from when that replica started, not all of
// them from the first start.
func TestScaledDeploymentUsage(t *testing.T) {
	j1 := job("j1", "acme", "normal", 1, 8, t0, model.Hour)
	d := job("d", "beta", "normal", 2, 8, t0+1, 3*model.Hour)
	d.Kind, d.MinReplicas, d.Topology = model.KindDeployment, 1, model.Topology{Level: model.LevelAny}
	later := job("j2", "acme", "normal", 1, 8, t0+5*3600, model.Hour)
	var usage float64
	_, err := Run(Config{Facility: facility(2), Jobs: []*model.Job{j1, d, later}, OnPass: func(s *model.Snapshot, _ *model.Plan) {
		for _, u := range s.Usage {
			if u.Tenant == "beta" {
				usage = u.GPUSeconds
			}
		}
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// one replica for 3 h, the second from j1's end (t0+1h) to d's end
	if want := float64(8*3*3600 + 8*(2*3600+1)); usage != want {
		t.Fatalf("beta's usage after d: %.0f GPU-seconds, want %.0f", usage, want)
	}
}
