package sched

import (
	"reflect"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/sched/place"
)

// TestMemoKeyCoversRequest: every field of a placement request is in
// the memos' keys, compared apart or set by earliest itself, and every
// field of a placement result is compared by sameResult; a new field
// fails here until estmemo.go and findmemo.go say which.
func TestMemoKeyCoversRequest(t *testing.T) {
	known := []string{"Tenant", "Claim", "TenantExcl", "ExclusiveNode", "Model", "Replicas", "GPUs", "CPUs", "Mem",
		"Level", "Required", "SameNode", "MinWattsPerReplica", "Job", // reqKey
		"Sites",                          // compared apart
		"SitesID",                        // the pass's own name for Sites
		"Constrained", "Probe", "Exists", // set by earliest
	}
	rt := reflect.TypeFor[place.Request]()
	for i := range rt.NumField() {
		if name := rt.Field(i).Name; !slices.Contains(known, name) {
			t.Errorf("place.Request.%s is not in the estimate memo's key (estmemo.go)", name)
		}
	}
	if rt.NumField() != len(known) {
		t.Errorf("place.Request has %d fields, the memo knows %d", rt.NumField(), len(known))
	}
}

func TestSameResultCoversResult(t *testing.T) {
	known := []string{"Slots", "Fit", "FreeGPUs", "Largest", "LargestGroup", "Rejected", "DirtyOther", "Claimed", "ClaimedBy"}
	rt := reflect.TypeFor[place.Result]()
	for i := range rt.NumField() {
		if name := rt.Field(i).Name; !slices.Contains(known, name) {
			t.Errorf("place.Result.%s is not compared by sameResult (findmemo.go)", name)
		}
	}
	if rt.NumField() != len(known) {
		t.Errorf("place.Result has %d fields, sameResult knows %d", rt.NumField(), len(known))
	}
}
