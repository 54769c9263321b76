package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// A job token is a task's own credential: the server hands one to every
// task it gives an agent, for the job's current attempt, and the task
// finds it in $CARNOT_TOKEN. It is
//
//	"carnotjob_" + hex(HMAC-SHA256(key, "carnot job token v2", job, attempt, start)) + "_" + attempt + "_" + job
//
// under the server's token key: stateless, so nothing is stored per
// attempt, and every replica of the server (one with the key among its
// previous keys too) checks it alike. It says which job and attempt it
// stands for; the server authenticates it only while that attempt is
// the job's current one and runs (Principal of role Job), so a report
// from an attempt that is over is refused. The MAC covers the attempt's
// start too (its time as the server recorded it, not in the text): the
// server knows when the attempt it runs started, and a token of the same
// job and attempt number that started at another time — made by another
// control plane sharing the token key (a staging copy), or before a
// restore of the store replayed the attempt — does not verify. The prefix differs from API
// tokens' ("carnot_"), so that neither is taken for the other, and
// secret scanners find both.
const jobTokenPrefix = "carnotjob_"

// ErrNotJobToken is returned by ParseJobToken for text that is not a job
// token.
var ErrNotJobToken = errors.New("not a Carnot job token")

// IsJobToken reports whether text is in the form of a job token (its
// prefix): the server then authenticates it as one, never as an API
// token.
func IsJobToken(text string) bool { return strings.HasPrefix(text, jobTokenPrefix) }

// jobStart is how an attempt's start enters the MAC: its instant, in
// one form whatever its location or monotonic reading.
func jobStart(start time.Time) string { return start.UTC().Format(time.RFC3339Nano) }

func (h *Hasher) jobSum(job string, attempt int, start time.Time) []byte {
	m := hmac.New(sha256.New, h.key)
	for _, f := range []string{"carnot job token v2", job, strconv.Itoa(attempt), jobStart(start)} {
		m.Write([]byte(f))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// JobToken is the job token of attempt of job, which started at start.
func (h *Hasher) JobToken(job string, attempt int, start time.Time) string {
	return jobTokenPrefix + hex.EncodeToString(h.jobSum(job, attempt, start)) + "_" + strconv.Itoa(attempt) + "_" + job
}

// ParseJobToken splits a job token into the job and attempt it names
// and its MAC; it checks the form only (VerifyJobToken the MAC).
func ParseJobToken(text string) (job string, attempt int, mac []byte, err error) {
	rest, ok := strings.CutPrefix(text, jobTokenPrefix)
	if !ok || len(rest) < 64+1 || rest[64] != '_' {
		return "", 0, nil, ErrNotJobToken
	}
	mac, err = hex.DecodeString(rest[:64])
	if err != nil || strings.ToLower(rest[:64]) != rest[:64] {
		return "", 0, nil, ErrNotJobToken
	}
	n, job, ok := strings.Cut(rest[65:], "_")
	attempt, err = strconv.Atoi(n)
	if !ok || err != nil || attempt < 1 || strconv.Itoa(attempt) != n || job == "" || len(job) > 128 {
		return "", 0, nil, ErrNotJobToken
	}
	return job, attempt, mac, nil
}

// VerifyJobToken reports whether text is a job token made under h's key
// for an attempt that started at start, and, when it is, the job and
// attempt it stands for. The start is the one the server knows of the
// attempt text names (ParseJobToken says which).
func (h *Hasher) VerifyJobToken(text string, start time.Time) (job string, attempt int, ok bool) {
	job, attempt, mac, err := ParseJobToken(text)
	if err != nil || !hmac.Equal(mac, h.jobSum(job, attempt, start)) {
		return "", 0, false
	}
	return job, attempt, true
}
