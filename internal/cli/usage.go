package cli

import (
	"fmt"
	"io"
	"strconv"

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
jobs; then the total.`,
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
			return usageTable(cmd.OutOrStdout(), u)
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
