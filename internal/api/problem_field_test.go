package api

import "testing"

// An error of no field is written without an empty field name.
func TestProblemErrorWithoutField(t *testing.T) {
	p := &Problem{Detail: "the job is not valid", Errors: []FieldError{{Message: `unknown field "gpu"`}, {Field: "gpus", Message: "must be ≥ 0"}}}
	want := "the job is not valid\n  unknown field \"gpu\"\n  gpus: must be ≥ 0"
	if got := p.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
