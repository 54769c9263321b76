package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// A job token is a task's own credential: the server hands one to every
// task it gives an agent, for the job's current attempt, and the task
// finds it in $CARNOT_TOKEN. It is
//
//	"carnotjob_" + hex(HMAC-SHA256(key, "carnot job token v1", job, attempt)) + "_" + attempt + "_" + job
//
// under the server's token key: stateless, so nothing is stored per
// attempt, and every replica of the server (one with the key among its
// previous keys too) checks it alike. It says which job and attempt it
// stands for; the server authenticates it only while that attempt is
// the job's current one and runs (Principal of role Job), so a report
// from an attempt that is over is refused. The prefix differs from API
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

func (h *Hasher) jobSum(job string, attempt int) []byte {
	m := hmac.New(sha256.New, h.key)
	for _, f := range []string{"carnot job token v1", job, strconv.Itoa(attempt)} {
		m.Write([]byte(f))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// JobToken is the job token of attempt of job.
func (h *Hasher) JobToken(job string, attempt int) string {
	return jobTokenPrefix + hex.EncodeToString(h.jobSum(job, attempt)) + "_" + strconv.Itoa(attempt) + "_" + job
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

// VerifyJobToken reports whether text is a job token made under h's key,
// and, when it is, the job and attempt it stands for.
func (h *Hasher) VerifyJobToken(text string) (job string, attempt int, ok bool) {
	job, attempt, mac, err := ParseJobToken(text)
	if err != nil || !hmac.Equal(mac, h.jobSum(job, attempt)) {
		return "", 0, false
	}
	return job, attempt, true
}
