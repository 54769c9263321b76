package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// auditPage is the page size 'carnot audit export --tenant' asks for (0:
// the server's default); tests make it small.
var auditPage = 0

func newAuditExportCmd() *cobra.Command {
	var r remote
	var out, tenant, job string
	cmd := &cobra.Command{
		Use:   "export [-o FILE] [--tenant T | --job J]",
		Short: "Write the audit log, or your tenant's entries with inclusion proofs, as JSONL",
		Long: `Without --tenant or --job: the whole log with a signed checkpoint, in the
format 'carnot audit verify' reads (an operator-admin's or a facility-wide
auditor's credentials). With --tenant or --job: those entries with their
inclusion proofs and the checkpoint they are proved against, as JSON (a
tenant's credentials see their own tenant's only).`,
		Example: `  carnot audit export -o audit.jsonl
  carnot audit verify --key "$(cat carnot-dev/audit.pub)" audit.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant != "" && job != "" {
				return usageError{errors.New("--tenant and --job: give one")}
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			var data []byte
			if tenant != "" || job != "" {
				e, err := c.AuditEntries(ctxOf(cmd), tenant, job, auditPage)
				if err != nil {
					return err
				}
				var b strings.Builder
				if err := printObject(&b, "json", e); err != nil {
					return err
				}
				data = []byte(b.String())
			} else if data, err = c.AuditExport(ctxOf(cmd)); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d bytes)\n", out, len(data))
			return nil
		},
	}
	r.addServerFlag(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: standard output)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's entries, with inclusion proofs")
	cmd.Flags().StringVar(&job, "job", "", "only this job's entries, with inclusion proofs")
	return cmd
}
