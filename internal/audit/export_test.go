package audit

import (
	"bytes"
	"testing"
)

// TestExportOfALogThatGrew: the server signs a checkpoint and then writes
// the export, while other requests may append to the log in between. The
// export is of the tree its checkpoint signs: the entries appended after
// it are left out, so that the export verifies (the format wants every
// entry covered by a checkpoint) and says what it says at that size.
func TestExportOfALogThatGrew(t *testing.T) {
	k := newKey(t, "carnot-test")
	l := newLog(t)
	cps := grow(t, l, k, 0, 300, 100, "a")
	grow(t, l, k, 300, 350, 1000, "a") // appended after the last checkpoint was signed
	b := export(t, l, cps)
	res, err := Verify(bytes.NewReader(b), k.verifier, cps[0].Note)
	if err != nil {
		t.Fatalf("the export of a log that grew after its checkpoint does not verify: %v", err)
	}
	if res.Entries != 300 || res.Size != 300 || res.Checkpoints != 3 {
		t.Errorf("result = %+v, want the 300 entries the checkpoints sign, 3 checkpoints", res)
	}
}
