package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// submitStdin runs carnot submit with stdin as the command's input.
func submitStdin(stdin string, args ...string) (stdout, stderr string, err error) {
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetArgs(append([]string{"submit"}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	_, err = root.ExecuteC()
	return out.String(), errb.String(), err
}

// TestSubmitStdin: `carnot submit -f -` failed with "open -: no such
// file or directory", where kubectl's -f - reads standard input (a job
// file piped from a generator). It reads standard input, named stdin in
// messages and automatic IDs; twice is a usage error.
func TestSubmitStdin(t *testing.T) {
	f := newFake(t)
	out, errs, err := submitStdin("- {tenant: lab-a, gpus: 1, command: [python, a.py]}\n- {id: b, tenant: lab-a, gpus: 2, command: [b]}\n",
		"--server", f.srv.URL, "-f", "-")
	if err != nil || out != "submitted job stdin-1 (pending)\nsubmitted job b (pending)\n" {
		t.Fatalf("submit -f -: %v, stdout %q, stderr %q", err, out, errs)
	}
	jobs := f.requests("POST", "/v1/jobs")
	var first map[string]any
	if len(jobs) != 2 || json.Unmarshal(jobs[0].body, &first) != nil || first["id"] != "stdin-1" {
		t.Errorf("submitted %d jobs; first %s", len(jobs), jobs[0].body)
	}
	// one JSON object a line is JSON Lines
	f3 := newFake(t)
	out, errs, err = submitStdin(`{"tenant":"lab-a","gpus":1,"command":["a"]}`+"\n\n"+`{"id":"c","tenant":"lab-a","gpus":1,"command":["c"]}`+"\n",
		"--server", f3.srv.URL, "-f", "-")
	if err != nil || out != "submitted job stdin-1 (pending)\nsubmitted job c (pending)\n" {
		t.Errorf("JSON Lines on stdin: %v, stdout %q, stderr %q", err, out, errs)
	}
	// a mistake is reported at its line of stdin, and nothing is sent
	f2 := newFake(t)
	_, _, err = submitStdin("- {tenant: lab-a, gpus: 1, command: [a]}\n- {tenant: lab-a, gpu: 1, command: [a]}\n", "--server", f2.srv.URL, "-f", "-")
	if err == nil || !strings.Contains(err.Error(), `stdin:2: jobs[1].gpu: unknown field`) || len(f2.reqs) != 0 {
		t.Errorf("a bad line on stdin: %v; %d requests", err, len(f2.reqs))
	}
	_, _, err = submitStdin("", "--server", f2.srv.URL, "-f", "-", "-f", "-")
	if !isUsage(err) {
		t.Errorf("-f - twice: %v, want a usage error", err)
	}
}
