package sched

import (
	"reflect"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/sched/place"
)

// TestMemoKeyCoversRequest: every field of a placement request is in
// the memos' keys (reqKey; findKey adds the three flags, which earliest
// sets itself), compared apart or named by the pass alone; a new field
// fails here until estmemo.go and findmemo.go say which.
func TestMemoKeyCoversRequest(t *testing.T) {
	known := []string{"Tenant", "Claim", "TenantExcl", "ExclusiveNode", "Model", "Replicas", "GPUs", "CPUs", "Mem",
		"Level", "Required", "SameNode", "MinWattsPerReplica", "Job", // reqKey
		"Avoid",                          // reqKey, by its length: a job's list only grows
		"Sites",                          // compared apart
		"SitesID",                        // the pass's own name for Sites
		"Constrained", "Probe", "Exists", // in findKey; set by earliest
	}
	knownFields(t, reflect.TypeFor[place.Request](), known, "the memos' keys (estmemo.go, findmemo.go)")
}

// knownFields fails for each field of struct type rt not in known.
func knownFields(t *testing.T, rt reflect.Type, known []string, where string) {
	t.Helper()
	for i := range rt.NumField() {
		if name := rt.Field(i).Name; !slices.Contains(known, name) {
			t.Errorf("%s.%s is not in %s", rt, name, where)
		}
	}
	if rt.NumField() != len(known) {
		t.Errorf("%s has %d fields, %s know %d", rt, rt.NumField(), where, len(known))
	}
}

// TestSameResultCoversResult: sameResult, which checks a kept placement
// against one found again, compares every field of a placement result.
func TestSameResultCoversResult(t *testing.T) {
	known := []string{"Slots", "Fit", "FreeGPUs", "Largest", "LargestGroup", "Rejected", "DirtyOther", "Down", "Claimed", "ClaimedBy",
		"block", "blockKnown", // by Blocker
	}
	knownFields(t, reflect.TypeFor[place.Result](), known, "what sameResult compares (findmemo.go)")
}
