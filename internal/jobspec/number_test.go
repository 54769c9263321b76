package jobspec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNumberForms: a count, duration or time written 1e3 was shown as a
// string ("1e3" in quotes), .inf and 1.5 only as "must be an integer",
// and an integer beyond int64 as a string or as "must be an integer"
// though it is one. Each now says what is wrong, in YAML and in JSONL.
func TestNumberForms(t *testing.T) {
	for _, tc := range []struct{ field, value, want string }{
		{"gpus", "1e3", "jobs[0].gpus: 1e3 is written as a decimal number; write 1000"},
		{"gpus", "1e4", "jobs[0].gpus: 1e4 is out of range; use a whole number from 0 to 4096"},
		{"gpus", "1.5", "jobs[0].gpus: 1.5 is not a whole number; use a whole number from 0 to 4096"},
		{"gpus", "8.0", "jobs[0].gpus: 8.0 is written as a decimal number; write 8"},
		{"replicas", ".inf", "jobs[0].replicas: .inf is not a finite number; use a whole number from 1 to 1000000"},
		{"replicas", "-.inf", "jobs[0].replicas: -.inf is not a finite number; use a whole number from 1 to 1000000"},
		{"replicas", ".nan", "jobs[0].replicas: .nan is not a finite number; use a whole number from 1 to 1000000"},
		{"cpus", "99999999999999999999", "jobs[0].cpus: 99999999999999999999 is out of range; use a whole number from 0 to 1048576"},
		{"cpus", "9223372036854775808", "jobs[0].cpus: 9223372036854775808 is out of range; use a whole number from 0 to 1048576"},
		{"memory_gib", "1e400", "jobs[0].memory_gib: 1e400 is beyond any usable number; use a whole number from 0 to 1073741824"},
		{"runtime_limit", "1e3", `jobs[0].runtime_limit: 1e3 is written as a decimal number; write 1000 seconds, or a duration such as "90m", "4h" or "2d"`},
		{"runtime_limit", ".inf", `jobs[0].runtime_limit: .inf is not a finite number; use whole seconds or a duration such as "90m", "4h" or "2d", from 0 to 100 years (36500d)`},
		{"checkpoint_grace", "1.5", `jobs[0].checkpoint_grace: 1.5 is not a whole number; use whole seconds or a duration such as "90m", "4h" or "2d", from 0 to 100 years (36500d)`},
		{"checkpoint_grace", "99999999999999999999", `jobs[0].checkpoint_grace: 99999999999999999999 is out of range; use whole seconds or a duration such as "90m", "4h" or "2d", from 0 to 100 years (36500d)`},
		{"earliest_start", "1.7e9", `jobs[0].earliest_start: 1.7e9 is written as a decimal number; write 1700000000 Unix seconds, or an RFC 3339 time such as "2026-01-05T08:00:00Z"`},
		{"submit_time", ".nan", `jobs[0].submit_time: .nan is not a finite number; use a whole number from 1 to 253402300799 Unix seconds, or an RFC 3339 time such as "2026-01-05T08:00:00Z"`},
		{"deadline", "1e30", `jobs[0].deadline: 1e30 is out of range; use a whole number from 1 to 253402300799 Unix seconds, or an RFC 3339 time such as "2026-01-05T08:00:00Z"`},
		// a duration above the limit was said in seconds ("must be ≤
		// 3153600000", "must be from 0 to 3153600000 seconds")
		{"runtime_limit", "3153600001", `jobs[0].runtime_limit: must be from 0 to 100 years (36500d); got "3153600001"`},
		{"runtime_limit", `"36501d"`, `jobs[0].runtime_limit: must be from 0 to 100 years (36500d); got "36501d"`},
		{"topology", "{level: leaf, required: 1e0}", "jobs[0].topology.required: must be true or false (got 1e0)"},
	} {
		y := string(lines("- id: a", "  tenant: acme", "  "+tc.field+": "+tc.value))
		if tc.field != "gpus" {
			y += "  gpus: 1\n"
		}
		_, err := Load("j.yaml", []byte(y), nil)
		if diff := cmp.Diff([]string{"j.yaml:3: " + tc.want}, errLines(t, err)); diff != "" {
			t.Errorf("YAML %s: %s (-want +got):\n%s", tc.field, tc.value, diff)
		}
		if tc.value[0] == '.' || tc.value[0] == '-' || tc.value[0] == '{' {
			continue // not JSON
		}
		js := `{"id":"a","tenant":"acme","gpus":1,"` + tc.field + `":` + tc.value + "}\n"
		if tc.field == "gpus" {
			js = `{"id":"a","tenant":"acme","gpus":` + tc.value + "}\n"
		}
		_, err = Load("j.jsonl", []byte(js), nil)
		if diff := cmp.Diff([]string{"j.jsonl:1: " + tc.want}, errLines(t, err)); diff != "" {
			t.Errorf("JSONL %s: %s (-want +got):\n%s", tc.field, tc.value, diff)
		}
	}
}
