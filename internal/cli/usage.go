package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
)

func newUsageCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "usage [-o table|json|yaml]",
		Short: "Show what each tenant consumed: GPU-hours, energy, cost and carbon",
		Long: `Shows, per tenant, the consumption of every job that ran on a Carnot
server (finished or not): GPU-hours, facility energy (IT energy measured
by the agents times the site's PUE), its cost in EUR and its emissions in
kgCO2e at each hour's grid price and carbon intensity, and the number of
jobs; then the total. Energy drawn in hours the site's grid series does
not hold has no price: cost and carbon leave it out, and a note on
standard error says how much (unpriced_kwh in JSON and YAML).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			u, err := c.Usage(ctxOf(cmd))
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, u)
			}
			if err := usageTable(cmd.OutOrStdout(), u); err != nil {
				return err
			}
			unpricedNote(cmd.ErrOrStderr(), u)
			return nil
		},
	}
	r.addFlags(cmd)
	return cmd
}

func usageTable(w io.Writer, l *api.UsageList) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "TENANT\tJOBS\tGPU-H\tKWH\tEUR\tKGCO2E")
	row := func(name string, jobs int, u api.Usage) {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.2f\t%.1f\n", name, strconv.Itoa(jobs),
			u.GPUSeconds/3600, u.KWh, u.EUR, u.GCO2e/1000)
	}
	jobs := 0
	for _, t := range l.Tenants {
		row(t.Tenant, t.Jobs, t.Usage)
		jobs += t.Jobs
	}
	row("TOTAL", jobs, l.Total)
	return tw.Flush()
}

// unpricedNote says on w how much of l's energy went unpriced, and
// whose, when some did: the table's cost and carbon leave it out.
func unpricedNote(w io.Writer, l *api.UsageList) {
	if l.Total.UnpricedKWh <= 0 {
		return
	}
	var whose []string
	for _, t := range l.Tenants {
		if t.UnpricedKWh > 0 {
			whose = append(whose, fmt.Sprintf("%s %.1f", t.Tenant, t.UnpricedKWh))
		}
	}
	fmt.Fprintf(w, "note: %.1f of the %.1f kWh were drawn in hours without a grid price (%s); EUR and KGCO2E leave them out\n",
		l.Total.UnpricedKWh, l.Total.KWh, strings.Join(whose, ", "))
}
