package server

import (
	"fmt"
	"slices"
	"strings"
)

// maxNamedAttempts bounds how many attempts keyTokensLost names; the
// others are counted.
const maxNamedAttempts = 10

// attemptsLosingTokens are the running attempts whose tasks hold job
// tokens of a key the server no longer has, as far as k, the record of
// the last start's keys, tells: a task keeps the job token it was first
// handed (its $CARNOT_TOKEN), made under the key current then, and k.ID
// was current from k.Since, one of k.Previous before. A replica held
// back (never handed) gets a token of this start's key. sure is false
// when some of them started before k.Since while one of k.Previous is
// kept: their token may be of that one. Caller holds mu, or runs before
// the server serves.
func (s *Server) attemptsLosingTokens(k tokenKeyDoc) (attempts []string, sure bool) {
	lostCurrent := k.ID != s.keyID && s.previous[k.ID] == nil
	lostPrevious, keptPrevious := false, false
	for _, id := range k.Previous {
		if id == s.keyID || s.previous[id] != nil {
			keptPrevious = true
		} else {
			lostPrevious = true
		}
	}
	sure = true
	for _, js := range s.running {
		lost, maybe := false, false
		for i := range js.doc.Replicas {
			rp := &js.doc.Replicas[i]
			if !live(rp) || js.heldBack(rp) {
				continue
			}
			if assignedAt(js, rp).Before(k.Since) {
				lost = lost || lostPrevious
				maybe = maybe || lostPrevious && keptPrevious
			} else {
				lost = lost || lostCurrent
			}
		}
		if lost {
			attempts = append(attempts, fmt.Sprintf("job %s, attempt %d", js.doc.ID, js.doc.Attempt))
			sure = sure && !maybe
		}
	}
	slices.Sort(attempts)
	return attempts, sure
}

// keyTokensLost says, for the message of a token key the server no
// longer has, which running attempts hold job tokens of it
// (attemptsLosingTokens) and what that costs them; "" when none does.
func keyTokensLost(attempts []string, sure bool) string {
	if len(attempts) == 0 {
		return ""
	}
	named := strings.Join(attempts[:min(len(attempts), maxNamedAttempts)], "; ")
	if n := len(attempts) - maxNamedAttempts; n > 0 {
		named += fmt.Sprintf("; %d more", n)
	}
	what, verb := "running attempts", "hold"
	if len(attempts) == 1 {
		what, verb = "running attempt", "holds"
	}
	if !sure {
		verb = "may hold"
	}
	return fmt.Sprintf("; %d %s (%s) %s job tokens of it: their tasks' checkpoint reports, and their acknowledgements of a preemption's notice, are refused (401) until the job's next attempt",
		len(attempts), what, named, verb)
}

// lostOr is lost (keyTokensLost) saying the tokens are of the key of the
// message or of other, when others is true: the server cannot tell which
// of the keys it no longer has a task's token was made under.
func lostOr(lost string, others bool, other string) string {
	if !others {
		return lost
	}
	return strings.Replace(lost, "job tokens of it", "job tokens of it or of "+other, 1)
}
