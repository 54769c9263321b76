package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/jobspec"
)

// Every job ID a job file may give makes a job token that verifies as
// that job: IDs with '_' (the token's separator), '.' and '-', IDs that
// look like an attempt and a job, and the longest one. The parser's
// bound is the job file's: an ID one character longer is refused by
// both, so no job that can be submitted has a token that never holds.
func TestJobTokenOfEveryJobID(t *testing.T) {
	h, _ := NewHasher(bytes.Repeat([]byte{1}, 32))
	start := time.Date(2026, 3, 2, 10, 1, 0, 0, time.UTC)
	longest := strings.Repeat("a_.-", 32)
	submits := func(id string) bool {
		_, _, err := jobspec.LoadToSubmit("jobs.jsonl", strings.NewReader(`{"id":"`+id+`","tenant":"a","gpus":1,"command":["train"]}`+"\n"))
		return err == nil
	}
	for _, id := range []string{"a", "j_1_2", "7_3", "x__y", "3", "A.b-c_", longest} {
		if !submits(id) {
			t.Errorf("job ID %q (%d characters): refused by the job file's loader", id, len(id))
			continue
		}
		for _, attempt := range []int{1, 2, 1 << 40} {
			tok := h.JobToken(id, attempt, start)
			if job, n, ok := h.VerifyJobToken(tok, start); !ok || job != id || n != attempt {
				t.Errorf("the token of job %q, attempt %d: VerifyJobToken = %q, %d, %v", id, attempt, job, n, ok)
			}
		}
	}
	tooLong := longest + "a"
	if submits(tooLong) {
		t.Errorf("a job ID of %d characters is submitted: ParseJobToken refuses it, so its job token would never hold", len(tooLong))
	}
	if _, _, ok := h.VerifyJobToken(h.JobToken(tooLong, 1, start), start); ok {
		t.Errorf("the token of a job ID of %d characters verifies", len(tooLong))
	}
}
