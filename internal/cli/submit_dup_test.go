package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// An ID two of the files given to one submit share (written, or the
// automatic one of two files of the same name) is a mistake found here,
// with nothing submitted: before, the jobs of the first file were
// submitted and the server refused the second's ("a job with id … exists;
// 2 jobs were submitted before it").
func TestSubmitRefusesAnIDSharedByTwoFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := write("one.yaml", "id: x\ntenant: lab-a\ngpus: 1\ncommand: [a]\n")
	two := write("two.yaml", "- {id: y, tenant: lab-a, gpus: 1, command: [a]}\n- {id: x, tenant: lab-a, gpus: 1, command: [a]}\n")
	auto := write("auto.yaml", "- {tenant: lab-a, gpus: 1, command: [a]}\n")
	auto2 := write("sub/auto.yaml", "- {tenant: lab-a, gpus: 1, command: [a]}\n")
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{one, two}, two + `:2: jobs[1].id: duplicate id "x": already used by ` + one + ":1"},
		{[]string{auto, auto2}, auto2 + `:1: jobs[0]: its automatic id "auto-1" is that of ` + auto + ":1 too (made of the file's name and the job's place); give the jobs ids"},
	} {
		f := newFake(t)
		args := []string{"--server", f.srv.URL}
		for _, p := range tc.files {
			args = append(args, "-f", p)
		}
		out, errs, err := submitStdin("", args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("submit %v: %v (stdout %q, stderr %q); want an error with %q", tc.files, err, out, errs, tc.want)
		}
		if n := len(f.requests("POST", "/v1/jobs")); n != 0 {
			t.Errorf("submit %v: %d jobs submitted, want none", tc.files, n)
		}
	}
}

// A refusal's error of no field (of the job as a whole) is reported at the
// job's line without an empty field name: before, "f.yaml:1: : …".
func TestSubmitErrorWithoutField(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		problem(w, http.StatusBadRequest, "the job is not valid", api.FieldError{Message: `unknown field "gpu"`})
	}))
	defer srv.Close()
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte("id: x\ntenant: lab-a\ngpus: 1\ncommand: [a]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := submitStdin("", "--server", srv.URL, "-f", p)
	if err == nil || strings.Contains(err.Error(), ": : ") || !strings.Contains(err.Error(), "\n  "+p+`:1: unknown field "gpu"`) {
		t.Errorf("submit: %v; want the error at line 1 without an empty field name", err)
	}
}
