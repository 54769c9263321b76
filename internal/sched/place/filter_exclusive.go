package place

// exclusiveOK: exclusive-node jobs need empty nodes; nobody joins an
// exclusive-node job; node-exclusive tenants share only among themselves.
func exclusiveOK(nd *Node, r *Request) bool {
	if nd.Jobs == 0 {
		return true
	}
	if r.ExclusiveNode || nd.ExclJob {
		return false
	}
	if !nd.ExclTen && !r.TenantExcl {
		return true // neither side is node-exclusive: anyone may share
	}
	return !nd.Mixed && nd.Owner == r.Tenant
}
