package cli

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestSubmitServerDownNotAFileError: a submission that could not reach
// the server was reported as "jobs.yaml:1: a (job 1 of the file): cannot
// reach …", the file:line form of a mistake in the file, which editors
// jump to. A server that cannot be reached, or broke the connection,
// is no line's fault: the error says which job was being submitted and
// whether it may have gone in.
func TestSubmitServerDownNotAFileError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	writeTestFile(t, path, "- {id: a, tenant: lab-a, gpus: 1, command: [x]}\n")
	code, _, errs := carnot("submit", "--server", deadServer(t), "-f", path)
	if code != ExitFailure || strings.Contains(errs, path+":1:") || !strings.HasPrefix(errs, "error: cannot reach the Carnot server") ||
		!strings.Contains(errs, "\njob a (job 1 of "+path+") was not submitted, nor any before it\n") {
		t.Errorf("unreachable: exit %d, stderr %q", code, errs)
	}
	// a connection broken after the request went: the job may be in
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	code, _, errs = carnot("submit", "--server", srv.URL, "-f", path)
	if code != ExitFailure || strings.Contains(errs, path+":1:") ||
		!strings.Contains(errs, "\njob a (job 1 of "+path+") may have been submitted; nothing before it was: submit the file again with --skip-existing once the server answers\n") {
		t.Errorf("connection broken: exit %d, stderr %q", code, errs)
	}
}
