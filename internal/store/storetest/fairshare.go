package storetest

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// testFairShare: the history is replaced whole, read back sorted by
// tenant, survives a reopen, and bad figures are refused without a trace.
func testFairShare(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	open := newDB(t)
	s := openStore(t, open)
	if got, err := s.FairShare(ctx); err != nil || len(got) != 0 {
		t.Fatalf("FairShare of an empty store = %v, %v; want none", got, err)
	}
	first := []model.Usage{{Tenant: "b", GPUSeconds: 2.5, AsOf: 1_700_000_000}, {Tenant: "a", GPUSeconds: 1e9, AsOf: 1_700_000_100}}
	if err := s.SaveFairShare(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := []model.Usage{{Tenant: "c", GPUSeconds: 0, AsOf: 1_700_000_200}, {Tenant: "a", GPUSeconds: 3.25, AsOf: 1_700_000_300}}
	if err := s.SaveFairShare(ctx, second); err != nil {
		t.Fatal(err)
	}
	want := []model.Usage{second[1], second[0]}
	if err := s.SaveFairShare(ctx, []model.Usage{{Tenant: "x", GPUSeconds: math.NaN()}}); err == nil {
		t.Errorf("SaveFairShare(NaN) succeeded")
	}
	if err := s.SaveFairShare(ctx, []model.Usage{{Tenant: "", GPUSeconds: 1}}); err == nil {
		t.Errorf("SaveFairShare(no tenant) succeeded")
	}
	got, err := s.FairShare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FairShare (-want +got):\n%s", diff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	got, err = s.FairShare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FairShare after a reopen (-want +got):\n%s", diff)
	}
}
