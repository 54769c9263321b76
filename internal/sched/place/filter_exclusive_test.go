package place

import "testing"

// TestExclusiveOKTruthTable checks exclusiveOK on every combination of
// what it reads against its rules written out: an exclusive-node job
// needs an empty node, nobody joins an exclusive-node job, and a
// node-exclusive tenant (on the node or asking) shares a node only with
// itself.
func TestExclusiveOKTruthTable(t *testing.T) {
	for bits := range 1 << 7 {
		on := func(i int) bool { return bits&(1<<i) != 0 }
		nd := &Node{ExclJob: on(1), Mixed: on(2), ExclTen: on(3), Owner: "a"}
		if on(0) {
			nd.Jobs = 1
		}
		r := &Request{ExclusiveNode: on(4), TenantExcl: on(5), Tenant: "b"}
		if on(6) {
			r.Tenant = "a"
		}
		empty := nd.Jobs == 0
		onlyItself := !nd.Mixed && nd.Owner == r.Tenant
		want := empty || !r.ExclusiveNode && !nd.ExclJob && (!(nd.ExclTen || r.TenantExcl) || onlyItself)
		if got := exclusiveOK(nd, r); got != want {
			t.Errorf("node %+v, request exclusive %v tenant-exclusive %v tenant %s: exclusiveOK %v, want %v",
				*nd, r.ExclusiveNode, r.TenantExcl, r.Tenant, got, want)
		}
	}
}
