package sched

import (
	"cmp"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// chargeUsage charges the decayed usage history us to the fair shares:
// summed per tenant, then charged tenant by tenant in facility order, as
// the GPUs running work holds are, so that the list's order changes no
// sum. Charged in list order, two cohorts with the same usage added up
// to different floats (addition is not associative) and ranked in one
// order or the other depending on how the driver listed its tenants.
// Entries of tenants the facility does not know count nowhere (they
// have no share to charge).
func (p *pass) chargeUsage(us []model.Usage, ords *tenantOrds, halfLife model.Duration) {
	o := p.prep.usageOrder(ords, us)
	for k := 0; k < len(o.entry); {
		ord := o.ord[k]
		n := k + 1
		for n < len(o.ord) && o.ord[n] == ord {
			n++
		}
		var sum float64
		if n == k+1 {
			sum = us[o.entry[k]].At(p.now, halfLife) / float64(halfLife)
		} else { // a tenant listed more than once: its entries by value
			vals := o.vals[:0]
			for _, e := range o.entry[k:n] {
				vals = append(vals, us[e].At(p.now, halfLife)/float64(halfLife))
			}
			slices.Sort(vals)
			for _, v := range vals {
				sum += v
			}
			o.vals = vals
		}
		p.fs.chargePath(p.fs.pathAt[ord], p.fac.Tenants[ord].Name, sum)
		k = n
	}
}

// usageOrder is the order a usage list is charged in: the entries of
// tenants the facility knows, by the tenant's ordinal (the index of its
// first entry in Facility.Tenants), each tenant's in list order.
type usageOrder struct {
	of    []string // the tenant of each entry of the list it is for
	entry []int32  // the entries charged, by ordinal
	ord   []int32  // the ordinal of each of entry
	vals  []float64
}

// usageOrder returns the order us is charged in, kept while drivers send
// the same tenants in the same order, as they do pass after pass.
func (prep *prepared) usageOrder(ords *tenantOrds, us []model.Usage) *usageOrder {
	o := &prep.usage
	same := len(us) == len(o.of)
	for i := 0; same && i < len(us); i++ {
		same = us[i].Tenant == o.of[i]
	}
	if same {
		return o
	}
	type pair struct{ entry, ord int32 }
	var pairs []pair
	o.of = o.of[:0]
	for i, u := range us {
		o.of = append(o.of, u.Tenant)
		if k, ok := ords.of[u.Tenant]; ok {
			pairs = append(pairs, pair{int32(i), int32(k)})
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.ord, b.ord) })
	o.entry, o.ord = o.entry[:0], o.ord[:0]
	for _, x := range pairs {
		o.entry, o.ord = append(o.entry, x.entry), append(o.ord, x.ord)
	}
	return o
}
