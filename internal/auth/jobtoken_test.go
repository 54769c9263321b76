package auth

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A job token names its job and attempt, verifies under the key it was
// made with only, for the start it was made for only, and is refused
// once any part of it changes: another job, another attempt (a later
// one of the same job included), another key, another start (a
// nanosecond apart), the same start in another location or with a
// monotonic reading verifying alike. It is never taken for an API
// token, nor an API token for it.
func TestJobTokenVerifies(t *testing.T) {
	h, _ := NewHasher(bytes.Repeat([]byte{1}, 32))
	other, _ := NewHasher(bytes.Repeat([]byte{2}, 32))
	start := time.Date(2026, 3, 2, 10, 1, 0, 123456789, time.UTC)
	tok := h.JobToken("train_v2.1-a", 3, start)
	if !strings.HasPrefix(tok, "carnotjob_") || !IsJobToken(tok) {
		t.Fatalf("job token %q: want the prefix carnotjob_", tok)
	}
	cest := time.FixedZone("CEST", 2*3600)
	for _, at := range []time.Time{start, start.In(cest)} {
		if job, attempt, ok := h.VerifyJobToken(tok, at); !ok || job != "train_v2.1-a" || attempt != 3 {
			t.Errorf("VerifyJobToken(%q, %v) = %q, %d, %v; want train_v2.1-a, 3, true", tok, at, job, attempt, ok)
		}
	}
	now := time.Now() // a monotonic reading, which a stored start has not
	if _, _, ok := h.VerifyJobToken(h.JobToken("j", 1, now), now.Round(0).In(cest)); !ok {
		t.Error("the token made for a start with a monotonic reading does not verify for that start as stored")
	}
	if _, _, ok := other.VerifyJobToken(tok, start); ok {
		t.Error("a job token verifies under another key")
	}
	for _, at := range []time.Time{start.Add(time.Nanosecond), start.Add(-time.Minute), {}} {
		if _, _, ok := h.VerifyJobToken(tok, at); ok {
			t.Errorf("a job token made for an attempt started at %v verifies for one started at %v", start, at)
		}
	}
	forged := []string{
		strings.Replace(tok, "_3_", "_4_", 1),                    // a later attempt
		strings.TrimSuffix(tok, "train_v2.1-a") + "train_v2.1-b", // another job
		strings.Replace(tok, "_3_", "_03_", 1),                   // the same number, written otherwise
		tok[:20] + "0" + tok[21:],                                // another MAC
	}
	for _, f := range forged {
		if f == tok {
			t.Fatalf("forgery %q is the token", f)
		}
		if _, _, ok := h.VerifyJobToken(f, start); ok {
			t.Errorf("forged job token %q verifies", f)
		}
	}
	for _, bad := range []string{"", "carnotjob_", "carnotjob_zz", tok[:74], strings.ToUpper(tok[:20]) + tok[20:],
		strings.Replace(tok, "_3_", "_0_", 1), strings.Replace(tok, "_3_", "_-1_", 1), strings.TrimSuffix(tok, "train_v2.1-a")} {
		if _, _, _, err := ParseJobToken(bad); !errors.Is(err, ErrNotJobToken) {
			t.Errorf("ParseJobToken(%q) = %v; want ErrNotJobToken", bad, err)
		}
	}
	if _, _, err := Parse(tok); !errors.Is(err, ErrMalformed) {
		t.Errorf("a job token parses as an API token: %v", err)
	}
	api, _, _ := h.Mint()
	if IsJobToken(api) {
		t.Errorf("API token %q taken for a job token", api)
	}
}

// A job principal reads its own job and reports its checkpoints; it
// may not act on another job, of its tenant or not (refused as another
// tenant's thing: not visible), nor do anything else: list, submit,
// cancel, read logs, tokens, secrets, the audit log. Authorize refuses
// it any job's thing: only AuthorizeJob, which knows the job, allows it.
func TestAuthorizeJob(t *testing.T) {
	p := Principal{Subject: "job:j1/2", Role: Job, Tenant: "a", Job: "j1", Attempt: 2}
	for _, op := range []string{"getJob", "jobEvents", "whyJob", "checkpointJob"} {
		if err := Authorize(p, op, ""); err != nil {
			t.Errorf("guard of %s for a job's token: %v", op, err)
		}
		if err := AuthorizeJob(p, op, "a", "j1"); err != nil {
			t.Errorf("%s of its own job: %v", op, err)
		}
		for _, c := range []struct{ tenant, job string }{{"a", "j2"}, {"b", "j2"}, {"b", "j1"}} {
			err := AuthorizeJob(p, op, c.tenant, c.job)
			if !errors.Is(err, ErrDenied) || !errors.Is(err, ErrNotVisible) {
				t.Errorf("%s of job %s of tenant %s: %v; want refused as not visible", op, c.job, c.tenant, err)
			}
		}
		if err := Authorize(p, op, "a"); !errors.Is(err, ErrDenied) {
			t.Errorf("Authorize(%s) of a thing of its tenant, its job unknown: %v; want refused", op, err)
		}
	}
	for _, op := range []string{"listJobs", "submitJob", "submitDeployment", "cancelJob", "jobLogs", "getDeployment", "listEvents",
		"watch", "usage", "listSites", "createToken", "listSecrets", "auditEntries", "auditExport", "listNodes", "agentHeartbeat", "agentEnroll"} {
		if err := Authorize(p, op, ""); !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), Action(op)) {
			t.Errorf("%s for a job's token: %v; want refused, saying %q", op, err, Action(op))
		}
		if err := AuthorizeJob(p, op, "a", "j1"); !errors.Is(err, ErrDenied) {
			t.Errorf("%s of its own job: %v; want refused", op, err)
		}
	}
	if err := Authorize(p, "whoami", ""); err != nil {
		t.Errorf("whoami: %v", err)
	}
	if err := CheckGrant(Job, "a", ""); err == nil {
		t.Error("an API token may be granted the role job")
	}
	mem := Principal{Role: Member, Tenant: "a"}
	if err := AuthorizeJob(mem, "cancelJob", "a", "j2"); err != nil {
		t.Errorf("a member cancelling a job of its tenant: %v", err)
	}
}

// FuzzParseJobToken: no text makes the job token parser panic; what it
// accepts names a job and an attempt that make the same text again,
// under the MAC it carried, so that one token has one form only; what
// verifies for a start is the token of its job and attempt at that
// start.
//
//	go test ./internal/auth -run '^$' -fuzz FuzzParseJobToken -fuzztime 30s
func FuzzParseJobToken(f *testing.F) {
	h, _ := NewHasher(bytes.Repeat([]byte{1}, 32))
	start := time.Date(2026, 3, 2, 10, 1, 0, 0, time.UTC)
	f.Add(h.JobToken("train", 1, start))
	f.Add(h.JobToken("j-0123_x", 12, start))
	f.Add("carnotjob_")
	f.Add("carnot_abc_def")
	f.Fuzz(func(t *testing.T, text string) {
		job, attempt, mac, err := ParseJobToken(text)
		if err != nil {
			if !errors.Is(err, ErrNotJobToken) {
				t.Fatalf("ParseJobToken(%q): %v, want ErrNotJobToken", text, err)
			}
			return
		}
		if job == "" || attempt < 1 || len(mac) != 32 {
			t.Fatalf("ParseJobToken(%q) = %q, %d, %d-byte MAC", text, job, attempt, len(mac))
		}
		again := jobTokenPrefix + hex.EncodeToString(mac) + "_" + strconv.Itoa(attempt) + "_" + job
		if again != text {
			t.Fatalf("ParseJobToken(%q) reads as %q, another form of the same token", text, again)
		}
		if _, _, ok := h.VerifyJobToken(text, start); ok && text != h.JobToken(job, attempt, start) {
			t.Fatalf("%q verifies but is not the token of %s, attempt %d", text, job, attempt)
		}
	})
}
