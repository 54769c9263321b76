package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
)

func newTenantsCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "tenants [-o table|json|yaml]",
		Short: "Show each tenant's quota, the GPUs it holds and borrows, and its jobs",
		Long: `Shows the tenants your token may see (every tenant for a facility-wide
token, your own otherwise): their cohort, per GPU model the GPUs their
running jobs hold against their nominal quota, what they borrow beyond
it from their cohort (all they hold, for a tenant of a cohort without a
quota of its own; nothing when the facility's policy turns quotas off),
their running and pending jobs, and the GPU-hours
all their jobs used. A tenant that borrows may lose that work to
reclaim when a tenant of its cohort wants its own quota back; a tenant
within its nominal quota whose jobs wait, while the cohort's others
borrow, is lent out (carnot why JOB says so).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			l, err := c.Tenants(ctxOf(cmd))
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, l)
			}
			return tenantsTable(cmd.OutOrStdout(), l)
		},
	}
	r.addFlags(cmd)
	return cmd
}

// tenantsTable writes one row per tenant. GPUS lists, per model it has a
// quota of or holds, used/nominal (used alone for a tenant without quota
// that borrows nothing); BORROWED what the server says it holds beyond
// nominal (nothing with the policy's quotas off).
func tenantsTable(w io.Writer, l *api.TenantList) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "TENANT\tCOHORT\tGPUS USED/NOMINAL\tBORROWED\tRUNNING\tPENDING\tGPU-H")
	for _, t := range l.Tenants {
		models := slices.Collect(maps.Keys(t.Quota))
		for m := range t.GPUsUsed {
			if _, ok := t.Quota[m]; !ok {
				models = append(models, m)
			}
		}
		slices.Sort(models)
		var gpus, borrowed []string
		for _, m := range models {
			used := t.GPUsUsed[m]
			if t.Quota == nil && t.GPUsBorrowed == nil {
				gpus = append(gpus, fmt.Sprintf("%s %d", m, used)) // no quota at all, nothing borrowed
			} else {
				gpus = append(gpus, fmt.Sprintf("%s %d/%d", m, used, t.Quota[m]))
			}
			if b := t.GPUsBorrowed[m]; b > 0 {
				borrowed = append(borrowed, fmt.Sprintf("%s %d", m, b))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%.1f\n", t.Name, dash(t.Cohort), dash(strings.Join(gpus, ", ")),
			dash(strings.Join(borrowed, ", ")), t.Running, t.Pending, t.Usage.GPUSeconds/3600)
	}
	return tw.Flush()
}

func newSitesCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "sites [-o table|json|yaml]",
		Short: "Show each site's power against its envelope, its GPUs and its grid now",
		Long: `Shows the sites of the facility: country and jurisdictions, the
registered nodes and their GPUs (in use of all), the IT power drawn now
(the GPUs' last measured power plus the nodes' base power, nodes not
ready left out) against the site's power envelope, its PUE, and the
grid's price (EUR/MWh) and carbon intensity (gCO2e/kWh) of the current
hour when the server has a grid series for the site ("-" otherwise).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			l, err := c.Sites(ctxOf(cmd))
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, l)
			}
			return sitesTable(cmd.OutOrStdout(), l)
		},
	}
	r.addFlags(cmd)
	return cmd
}

func sitesTable(w io.Writer, l *api.SiteList) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SITE\tCOUNTRY\tJURISDICTIONS\tNODES\tGPUS USED\tIT KW\tENVELOPE KW\tOF ENVELOPE\tPUE\tEUR/MWH\tGCO2E/KWH")
	for _, s := range l.Sites {
		share := "-"
		if s.PowerEnvelopeKW > 0 {
			share = fmt.Sprintf("%.1f%%", 100*s.ITPowerKW/s.PowerEnvelopeKW)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d\t%.1f\t%s\t%s\t%s\t%s\t%s\n", s.ID, dash(s.Country),
			dash(strings.Join(s.Jurisdictions, ",")), s.Nodes, s.GPUsUsed, s.GPUs, s.ITPowerKW,
			strconv.FormatFloat(s.PowerEnvelopeKW, 'f', -1, 64), share, strconv.FormatFloat(s.PUE, 'f', -1, 64),
			optNum(s.PriceEURMWh, 2), optNum(s.CarbonGkWh, 0))
	}
	return tw.Flush()
}

// optNum is *x with prec decimals, or "-" when nil.
func optNum(x *float64, prec int) string {
	if x == nil {
		return "-"
	}
	return strconv.FormatFloat(*x, 'f', prec, 64)
}
