package server

import (
	"strings"
	"testing"
)

// A preemption across tenants: the victim's tenant reads, in its job's
// message, events and why, that it was preempted for a job of another
// tenant, never which job or tenant; operators read both in a
// facility-wide event.
func TestPreemptionNamesNoOtherTenant(t *testing.T) {
	e := secEnv(t)
	victim := jobOf("b")
	victim["gpus"], victim["priority_class"] = 8, "low"
	vid := e.submit(victim)
	e.pass()
	e.report("n1", running(vid, 0, 1))
	boss := jobOf("a")
	boss["gpus"], boss["priority_class"], boss["id"] = 8, "high", "a-secret-project"
	bid := e.submit(boss)
	e.pass()

	mem := withBearer(tokenFor(t, e.s, "member", "b"))
	var seen strings.Builder
	for _, path := range []string{"/v1/jobs/" + vid, "/v1/jobs/" + vid + "/events", "/v1/jobs/" + vid + "/why", "/v1/events"} {
		code, body := e.doWith(mem, "GET", path, nil, nil)
		if code != 200 {
			t.Fatalf("GET %s as a member of b: %d", path, code)
		}
		seen.WriteString(string(body))
	}
	if s := seen.String(); strings.Contains(s, bid) || strings.Contains(s, `tenant a `) || !strings.Contains(s, "preempted for a job of another tenant") {
		t.Errorf("b's view of its preempted job names %s or tenant a, or lacks the neutral words:\n%s", bid, s)
	}
	// a's view of its job, waiting for the eviction ("preempting:
	// evicting JOB, …"), names no job of b's either
	ma := withBearer(tokenFor(t, e.s, "member", "a"))
	var aSeen strings.Builder
	for _, path := range []string{"/v1/jobs/" + bid, "/v1/jobs/" + bid + "/events", "/v1/jobs/" + bid + "/why"} {
		code, body := e.doWith(ma, "GET", path, nil, nil)
		if code != 200 {
			t.Fatalf("GET %s as a member of a: %d", path, code)
		}
		aSeen.WriteString(string(body))
	}
	if s := aSeen.String(); strings.Contains(s, vid) || !strings.Contains(s, "evicting a job of another tenant") {
		t.Errorf("a's view of its job names %s, b's job, or lacks the neutral words:\n%s", vid, s)
	}
	var found bool
	_, body := e.doWith(withBearer(tokenFor(t, e.s, "operator", "")), "GET", "/v1/events", nil, nil)
	found = strings.Contains(string(body), "job "+vid+" of tenant b preempted for job "+bid+" of tenant a")
	if !found {
		t.Errorf("operators have no event saying who preempted whom:\n%s", body)
	}
}

func TestOwnView(t *testing.T) {
	e := secEnv(t)
	ja, jb := e.submit(jobOf("a")), e.submit(jobOf("b"))
	dotted := jobOf("a")
	dotted["id"] = "a-secret."
	e.submit(dotted)
	word := jobOf("a")
	word["id"] = "job"
	e.submit(word)
	// a job of a cancelled during the pass that names it: the pass
	// applies its plan once the job is gone from memory
	gone := e.submit(jobOf("a"))
	if code := e.do("POST", "/v1/jobs/"+gone+"/cancel", nil, nil); code != 200 {
		t.Fatalf("cancel %s: %d", gone, code)
	}
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	for _, c := range []struct{ in, want string }{
		{"backfill: reserved for job " + ja + " (starts ~10:00); x", "backfill: reserved for a job of another tenant (starts ~10:00); x"},
		{"backfill: reserved for job " + jb + " (starts ~10:00)", "backfill: reserved for job " + jb + " (starts ~10:00)"},
		{"capacity: 4 more are claimed by job " + ja + "; 2 more are held for job " + ja + ", which waits",
			"capacity: 4 more are claimed by a job of another tenant; 2 more are held for a job of another tenant, which waits"},
		{"preempted for " + ja + ": reclaim: tenant a takes back its nominal quota from borrower b",
			"preempted for a job of another tenant: reclaim: another tenant takes back its nominal quota from borrower b"},
		{"quota: tenant b uses 8/8 H100 (nominal), needs 8, cohort c lends 0", "quota: tenant b uses 8/8 H100 (nominal), needs 8, cohort c lends 0"},
		{"job " + ja + ".", "a job of another tenant."},
		{"subjob " + ja, "subjob " + ja}, // not the word "job"
		{"tenant nosuch", "tenant nosuch"},
		// lists of victims
		{"preempting: evicting " + ja + ", " + jb + "; starts after eviction at 10",
			"preempting: evicting a job of another tenant, " + jb + "; starts after eviction at 10"},
		{"preempting: evicting " + jb + ", " + ja + "; starts", "preempting: evicting " + jb + ", a job of another tenant; starts"},
		// an ID that ends with a dot, or that is a word of the text
		{"backfill: reserved for job a-secret. (starts ~10:00)", "backfill: reserved for a job of another tenant (starts ~10:00)"},
		{"capacity: 2 more are held for job " + ja + ", which waits", "capacity: 2 more are held for a job of another tenant, which waits"},
		{"backfill: reserved for job " + gone + " (starts ~10:00)", "backfill: reserved for a job of another tenant (starts ~10:00)"},
	} {
		if got := e.s.ownView("b", c.in); got != c.want {
			t.Errorf("ownView(b, %q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
