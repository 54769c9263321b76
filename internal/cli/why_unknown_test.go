package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A pending job without an estimate says why there is none: "unknown"
// alone read as a fault of the tool. Beyond the reservation, estimates
// are made by full passes only: a job queued since the last one has
// none for up to 5 s, which it says too.
func TestWhyUnknownEstimateSaysWhy(t *testing.T) {
	var b bytes.Buffer
	y := &api.Why{Job: "big", State: api.StatePending}
	if err := writeWhy(&b, time.Now(), y); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "estimated start: unknown (none found from the runtime limits") ||
		!strings.Contains(b.String(), "without a runtime_limit counts as running for ever") ||
		!strings.Contains(b.String(), "a job queued since the last one has none yet") {
		t.Errorf("why without an estimate:\n%s", b.String())
	}
}

// A job that waits only for nodes that take nothing new (all drained or
// down, nothing running) is not told that the work ahead has no runtime
// limits: there is no work ahead, and the estimate is unknown because no
// one can say when those nodes come back.
func TestWhyUnknownEstimateOfDrainedNodes(t *testing.T) {
	var b bytes.Buffer
	y := &api.Why{Job: "j", State: api.StatePending, Sites: []string{"local"},
		Reason: &api.Reason{Code: "capacity", Message: "capacity: needs 1 H100; 0 usable free on eligible nodes (1 node excluded by node-state)"},
		GPUs:   &api.WhyGPUs{Models: []string{"H100"}, Total: 8, Unavailable: 8}}
	if err := writeWhy(&b, time.Now(), y); err != nil {
		t.Fatal(err)
	}
	want := "estimated start: unknown (no job holds the GPUs it may use, but 8 of them take nothing new, on nodes draining or down or down themselves: it waits for them to be back)\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("why lacks %q:\n%s", want, b.String())
	}
}

// A job held for its dependencies is not told that the work ahead has
// no runtime limits, nor that its reason is a scheduling pass's: the
// scheduler has not considered it, and the reason is as of now.
func TestWhyHeldForDependencies(t *testing.T) {
	var b bytes.Buffer
	now := time.Now()
	y := &api.Why{Job: "eval", State: api.StatePending, Message: "dependency: waits for train (running) to succeed",
		Reason: &api.Reason{Code: "dependency", Message: "dependency: waits for train (running) to succeed", Pass: now.Add(-3 * time.Hour)}}
	if err := writeWhy(&b, now, y); err != nil {
		t.Fatal(err)
	}
	want := "eval is pending: dependency: waits for train (running) to succeed [dependency]\n" +
		"estimated start: unknown (it waits for its dependencies to end as depends_on asks; the scheduler considers it only then)\n"
	if b.String() != want {
		t.Errorf("why of a held job:\n%s\nwant:\n%s", b.String(), want)
	}
}

// A job that waits for something no estimate weighs is told what it
// waits for, not that the work ahead has no runtime limits: quota
// (estimates weigh GPUs, topology and power only), or a facility that
// cannot take it at all (sovereignty, invalid).
func TestWhyUnknownEstimateByReason(t *testing.T) {
	for code, want := range map[string]string{
		"quota":       "estimated start: unknown (estimates weigh GPUs, topology and power, not quota: it starts once running work of its tenant or its cohort leaves enough of the quota)\n",
		"sovereignty": "estimated start: none (it cannot start on the facility as it is: see the reason)\n",
		"invalid":     "estimated start: none (it cannot start on the facility as it is: see the reason)\n",
	} {
		var b bytes.Buffer
		y := &api.Why{Job: "j", State: api.StatePending, Reason: &api.Reason{Code: code, Message: code + ": …"}}
		if err := writeWhy(&b, time.Now(), y); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) || strings.Contains(b.String(), "runtime_limit") {
			t.Errorf("why of a job waiting for %s:\n%s\nwant the line %q", code, b.String(), want)
		}
	}
}

// A sovereignty reason is of two kinds: no site of the facility may take
// the job (its sites are none: it cannot start, so no estimate), or its
// sites are full while GPUs are free on sites it may not use ("free H100
// only in DE"), which is a wait for room on its own sites like any
// other. The second was told "none (it cannot start on the facility as
// it is)", though it starts once its sites have room.
func TestWhySovereigntyWithSitesIsAWait(t *testing.T) {
	for _, c := range []struct {
		sites     []string
		msg, want string
		notWant   string
	}{
		{nil, "sovereignty: job allows DE and tenant acme allows FR; no site of the facility satisfies both",
			"estimated start: none (it cannot start on the facility as it is: see the reason)", "runtime_limit"},
		{[]string{"paris"}, "sovereignty: allowed FR; free H100 only in DE",
			"estimated start: unknown (none found from the runtime limits of the work ahead", "cannot start on the facility"},
	} {
		var b bytes.Buffer
		y := &api.Why{Job: "j", State: api.StatePending, Sites: c.sites, Reason: &api.Reason{Code: "sovereignty", Message: c.msg}}
		if err := writeWhy(&b, time.Now(), y); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) || strings.Contains(b.String(), c.notWant) {
			t.Errorf("why of a job waiting for sovereignty on sites %v:\n%s\nwant the line %q", c.sites, b.String(), c.want)
		}
	}
}
