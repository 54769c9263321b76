package place

import "testing"

func TestExclusiveOK(t *testing.T) {
	for _, tc := range []struct {
		name string
		node Node
		req  Request
		want bool
	}{
		{"empty node takes anyone", Node{}, Request{Tenant: "a", ExclusiveNode: true, TenantExcl: true}, true},
		{"exclusive-node job needs an empty node", Node{Jobs: 1, Owner: "a"}, Request{Tenant: "a", ExclusiveNode: true}, false},
		{"nobody joins an exclusive-node job", Node{Jobs: 1, Owner: "a", ExclJob: true}, Request{Tenant: "a"}, false},
		{"same tenant shares", Node{Jobs: 2, Owner: "a"}, Request{Tenant: "a"}, true},
		{"other tenants share by default", Node{Jobs: 1, Owner: "a"}, Request{Tenant: "b"}, true},
		{"node-exclusive tenant keeps others out", Node{Jobs: 1, Owner: "a", ExclTen: true}, Request{Tenant: "b"}, false},
		{"node-exclusive tenant does not join others", Node{Jobs: 1, Owner: "a"}, Request{Tenant: "b", TenantExcl: true}, false},
		{"node-exclusive tenant joins itself", Node{Jobs: 1, Owner: "a", ExclTen: true}, Request{Tenant: "a", TenantExcl: true}, true},
		{"mixed node refuses an exclusive tenant", Node{Jobs: 2, Owner: "a", Mixed: true}, Request{Tenant: "a", TenantExcl: true}, false},
	} {
		if got := exclusiveOK(&tc.node, &tc.req); got != tc.want {
			t.Errorf("%s: exclusiveOK = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPowerHeadroom(t *testing.T) {
	c := &Cluster{PowerOn: true,
		Sites: []Power{{ID: "s", LimitW: 10_000, LoadW: 9_000}},
		Halls: []Power{{ID: "h", LimitW: 0, LoadW: 5_000}},
		Racks: []Power{{ID: "r", LimitW: 4_000, LoadW: 3_500, SpareW: 100, HasSpare: true}}}
	nd := &Node{Site: 0, Hall: 0, Rack: 0}
	for _, tc := range []struct {
		w           float64
		constrained bool
		want        bool
	}{
		{400, false, true},  // rack has 500 W, site 1 kW, hall no limit
		{600, false, false}, // the rack binds
		{400, true, false},  // a job still running at the reservation's start sees the rack's 100 W spare
		{100, true, true},
	} {
		if got := c.powerOK(nd, tc.w, tc.constrained); got != tc.want {
			t.Errorf("powerOK(%g W, constrained=%v) = %v, want %v", tc.w, tc.constrained, got, tc.want)
		}
	}
}

// TestFilterIndices: the constants diagnose counts with name the filters
// nodeFilter returns.
func TestFilterIndices(t *testing.T) {
	if FilterNames[nodeStateFilter] != FilterNodeState || FilterNames[modelFilter] != FilterModel ||
		FilterNames[sovereigntyFilter] != FilterSovereignty || FilterNames[exclusiveFilter] != FilterExclusive ||
		FilterNames[powerFilter] != FilterPower || FilterNames[failedStartFilter] != FilterFailedStart {
		t.Fatalf("filter indices out of step with FilterNames %v", FilterNames)
	}
}
