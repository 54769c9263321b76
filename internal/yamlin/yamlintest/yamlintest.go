// Package yamlintest holds what the loaders' tests of hostile input
// share: the check that a file was refused at one of its limits, with
// the work it cost bounded by counts, never by time.
package yamlintest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Refused checks that err holds one problem, on line of file, saying
// want, and that the work w stayed within l: no token parsed unless
// parsed is set (the limit passed is on values, or an earlier part of
// the file was read), and the values counted stopped at l.Values.
func Refused(t testing.TB, err error, w yamlin.Work, l yamlin.Limits, file string, line int, want string, parsed bool) {
	t.Helper()
	var list yamlin.ErrorList
	at := fmt.Sprintf("%s:%d: ", file, line)
	if !errors.As(err, &list) || len(list) != 1 || !strings.HasPrefix(list[0].Error(), at) || !strings.Contains(list[0].Msg, want) {
		t.Fatalf("err = %.500v\nwant one error on line %d saying %q", err, line, want)
	}
	switch {
	case !parsed && (w.Tokens != 0 || w.Values != 0):
		t.Errorf("%d tokens parsed, %d values: want the input refused before it is parsed", w.Tokens, w.Values)
	case l.Values > 0 && w.Values > l.Values+1:
		t.Errorf("%d values counted, want the count to stop at the limit, %d", w.Values, l.Values)
	}
}
