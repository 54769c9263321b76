package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/workload"
)

func newFacilityCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "facility",
		Short: "Validate and inspect facility descriptions (YAML)",
		Long:  "Facility descriptions say what an installation is made of and who uses it; see docs/facility.md.",
	}
	cmd.AddCommand(newFacilityValidateCmd(), newFacilityShowCmd(), newFacilityGenerateCmd())
	return cmd
}

func newFacilityValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check facility files and report every problem with its line",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			bad := 0
			for _, path := range args {
				f, err := facility.LoadFile(path)
				if err != nil {
					bad++
					printLoadError(out, err)
					continue
				}
				s := facility.Summarize(f)
				fmt.Fprintf(out, "%s: ok (%d sites, %d nodes, %d GPUs, %d tenants)\n", path, len(s.Sites), s.Nodes, s.GPUs, len(s.Tenants))
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d facility files invalid", bad, len(args))
			}
			return nil
		},
	}
}

// printLoadError prints validation problems one per line.
func printLoadError(w io.Writer, err error) {
	var errs facility.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

func newFacilityGenerateCmd() *cobra.Command {
	var bench bool
	var out string
	cfg := workload.DefaultFacilityConfig()
	cmd := &cobra.Command{
		Use:   "generate --bench [--nodes N] [--sites S] [--tenants T] [--seed S] [-o FILE]",
		Short: "Write the benchmark facility as a facility description (YAML)",
		Long: "Generate writes the benchmark facility that 'carnot workload generate --bench' uses as a " +
			"facility file (stdout by default), for 'carnot schedule --facility' and " +
			"'carnot workload generate --facility'. The same flags always give the same file. " +
			"The file is loaded back before it is written, so what comes out validates.",
		Example: "  carnot facility generate --bench -o bench.yaml\n" +
			"  carnot facility generate --bench --nodes 50000 --sites 8 --tenants 1000 -o big.yaml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !bench {
				return errors.New("say what to generate: --bench writes the benchmark facility (the only kind so far)")
			}
			var b bytes.Buffer
			if err := facility.Write(&b, workload.GenerateFacility(cfg)); err != nil {
				return err
			}
			if _, err := facility.Load("generated facility", b.Bytes()); err != nil {
				printLoadError(cmd.ErrOrStderr(), err)
				return fmt.Errorf("the benchmark facility for --nodes %d --sites %d --tenants %d does not validate; try other sizes", cfg.Nodes, cfg.Sites, cfg.Tenants)
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			return os.WriteFile(out, b.Bytes(), 0o644)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&bench, "bench", false, "generate the benchmark facility")
	f.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "nodes, spread evenly over the sites")
	f.IntVar(&cfg.Sites, "sites", cfg.Sites, "sites; they cycle through FR, DE, NL and US")
	f.IntVar(&cfg.Tenants, "tenants", cfg.Tenants, "tenants")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the tenants' jurisdictions, weights and quotas")
	f.StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

func newFacilityShowCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Summarize a facility: sites, power, GPUs, topology, tenants, policy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("unknown output format %q; use table or json", output)
			}
			f, err := facility.LoadFile(args[0])
			if err != nil {
				printLoadError(cmd.OutOrStdout(), err)
				return fmt.Errorf("%s is invalid", args[0])
			}
			s := facility.Summarize(f)
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			return showTable(cmd.OutOrStdout(), s)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func showTable(out io.Writer, s facility.Summary) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("facility %s: %d sites, %d nodes, %d GPUs (%s), %d tenants\n\n", s.Name, len(s.Sites), s.Nodes, s.GPUs, countsOf(s.GPUsByModel), len(s.Tenants))

	p("SITE\tCOUNTRY\tJURISDICTIONS\tOPERATOR\tENVELOPE kW\tNAMEPLATE kW\tIDLE kW\tPUE\tZONE\tHALLS\tRACKS\tNODES\tGPUS\tNVLINK\tLEAVES\tSPINES\n")
	for _, x := range s.Sites {
		p("%s\t%s\t%s\t%s\t%.0f (%s)\t%.0f\t%.0f\t%.2f\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\n",
			x.ID, x.Country, strings.Join(x.Jurisdictions, ","), x.Operator, x.EnvelopeKW, pct(x.EnvelopeKW, x.NameplateKW),
			x.NameplateKW, x.IdleKW, x.PUE, x.GridZone, x.Halls, x.Racks, x.Nodes, countsOf(x.GPUsByModel),
			x.NVLinkDomains, x.Leaves, x.Spines)
	}

	p("\nGPU MODEL\tVENDOR\tCOUNT\tMEMORY GiB\tTDP W\tIDLE W\tCAP W\tBF16 TFLOP/s\n")
	for _, g := range s.GPUModels {
		capW := "not settable"
		if g.MinCapWatts > 0 {
			capW = fmt.Sprintf("%d-%d", g.MinCapWatts, g.MaxCapWatts)
		}
		p("%s\t%s\t%d\t%d\t%d\t%d\t%s\t%g\n", g.Name, g.Vendor, g.Count, g.MemoryGiB, g.TDPWatts, g.IdleWatts, capW, g.BF16TFLOPS)
	}

	p("\nTENANT\tCOHORT\tWEIGHT\tJURISDICTIONS\tEXCLUSIVE\tCLASSES\tQUOTA\n")
	for _, t := range s.Tenants {
		p("%s\t%s\t%g\t%s\t%s\t%s\t%s\n", t.Name, dash(t.Cohort), t.FairShareWeight, orAny(t.Jurisdictions),
			t.Exclusive, orAny(t.PriorityClasses), quotaText(t.Quota))
	}
	if len(s.Cohorts) > 0 {
		p("\nCOHORT\tPARENT\tQUOTA\n")
		for _, c := range s.Cohorts {
			p("%s\t%s\t%s\n", c.Name, dash(c.Parent), quotaText(c.Quota))
		}
	}
	p("\nPRIORITY CLASS\tVALUE\tPREEMPTIBLE\n")
	for _, c := range s.PriorityClasses {
		p("%s\t%d\t%t\n", c.Name, c.Value, c.Preemptible)
	}
	pol := s.Policy
	limit := "unlimited"
	if pol.PreemptionRateLimit > 0 {
		limit = fmt.Sprintf("%d per %s", pol.PreemptionRateLimit, pol.PreemptionWindow)
	}
	p("\nPOLICY\tSETTING\n")
	p("order\t%s\n", pol.Order)
	p("fair_share\t%s (half-life %s)\n", onOff(pol.FairShare), pol.FairShareHalfLife)
	borrow := "any job may borrow beyond its tenant's nominal quota"
	if pol.Borrowing == "preemptible" {
		borrow = "only preemptible jobs borrow beyond their tenant's nominal quota"
	}
	if pol.Quotas {
		p("quotas\t%s (%s)\n", onOff(pol.Quotas), borrow)
	} else {
		p("quotas\t%s\n", onOff(pol.Quotas))
	}
	ratio := "none"
	if pol.VictimRatio > 0 {
		ratio = fmt.Sprintf("%d× its need", pol.VictimRatio)
	}
	p("preemption\t%s (rate limit %s; largest victim %s)\n", onOff(pol.Preemption), limit, ratio)
	spares := "spares work younger than " + pol.ReclaimMinRun
	if pol.ReclaimMinRun == "0s" {
		spares = "spares no running work"
	}
	if pol.ReclaimVictims == "any" {
		// "spares …; victims of any size" read as if those were spared
		spares = "takes back lent quota from borrowers of any size; " + spares
	}
	p("reclaim\t%s (%s)\n", onOff(pol.Reclaim), spares)
	p("backfill\t%s (depth %d, reservation %s)\n", onOff(pol.Backfill), pol.BackfillDepth, onOff(pol.Reservation))
	p("topology\t%s\n", onOff(pol.Topology))
	p("power\t%s\n", onOff(pol.Power))
	p("power_capping\t%s (share of the envelope: %s, lend to running capped jobs: %s, deadlines planned at capped speed exponent %g)\n",
		onOff(pol.PowerCapping), onOff(pol.PowerShare), onOff(pol.PowerRecap), pol.CappedSpeedExponent)
	p("deferral\t%s (carbon weight %g, booking %s)\n", onOff(pol.Deferral), pol.CarbonWeight, onOff(pol.DeferralBooking))
	p("sovereignty\t%s (running work found outside: %s)\n", onOff(pol.Sovereignty), pol.OutsideJurisdiction)
	return w.Flush()
}

func countsOf(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, strconv.Itoa(m[k])+" "+k)
	}
	return strings.Join(parts, ", ")
}

func quotaText(q map[string]facility.QuotaInfo) string {
	if len(q) == 0 {
		return "-"
	}
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(q)) {
		x := q[m]
		s := fmt.Sprintf("%s %d", m, x.Nominal)
		if x.BorrowingLimit != nil {
			s += fmt.Sprintf(" borrow<=%d", *x.BorrowingLimit)
		}
		if x.LendingLimit != nil {
			s += fmt.Sprintf(" lend<=%d", *x.LendingLimit)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func pct(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%% of nameplate", 100*a/b)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orAny(xs []string) string {
	if len(xs) == 0 {
		return "any"
	}
	return strings.Join(xs, ",")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
