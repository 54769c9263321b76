package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A syntax error in a .json job file is reported as invalid JSON, at its
// file, line and column, not as "invalid YAML" (the YAML parser reads
// JSON too, and a .json file with a trailing comma, valid YAML flow,
// was taken); nothing is sent.
func TestSubmitJSONSyntaxError(t *testing.T) {
	f := newFake(t)
	dir := t.TempDir()
	for _, tc := range []struct{ name, data, want string }{
		{"missing.json", "{\n  \"tenant\": \"lab-a\",\n  \"gpus\": 1\n  \"command\": [\"x\"]\n}\n",
			"missing.json:4: invalid JSON: column 3: "},
		{"trailing.json", "[\n  {\"tenant\": \"lab-a\", \"gpus\": 1, \"command\": [\"x\"],}\n]\n",
			"trailing.json:2: invalid JSON: column 51: "},
		{"short.json", "{\"tenant\": \"lab-a\",\n \"gpus\": 1,\n \"command\": [\"x\"]\n",
			"short.json:3: invalid JSON: column 17: "},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := submitStdin("", "--server", f.srv.URL, "-f", path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "YAML") {
			t.Errorf("submit -f %s: %v; want %q…", tc.name, err, tc.want)
		}
	}
	if len(f.reqs) != 0 {
		t.Errorf("%d requests sent; want none", len(f.reqs))
	}
}

// JSON piped to submit -f - (jq's output, say) with a syntax error is
// reported as invalid JSON too; YAML on stdin keeps YAML's words.
func TestSubmitStdinJSONSyntaxError(t *testing.T) {
	f := newFake(t)
	for _, tc := range []struct{ data, want string }{
		{"{\n  \"tenant\": \"lab-a\",\n  \"gpus\": 1\n  \"command\": [\"x\"]\n}\n", "stdin:4: invalid JSON: column 3: "},
		{"[{\"tenant\": \"lab-a\", \"gpus\": 1, \"command\": [\"x\"]}\n", "stdin:1: invalid JSON: column 49: the file ends before its JSON value does"},
		{"- tenant: lab-a\n  gpus: [1\n", "stdin:2: invalid YAML: "},
	} {
		_, _, err := submitStdin(tc.data, "--server", f.srv.URL, "-f", "-")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("submit -f - of %q: %v; want %q…", tc.data, err, tc.want)
		}
	}
	if len(f.reqs) != 0 {
		t.Errorf("%d requests sent; want none", len(f.reqs))
	}
}
