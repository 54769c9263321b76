package cli

import (
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/client"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens and join tokens",
		Long: `API tokens authenticate people and programs (role operator-admin,
operator, tenant-admin, member, viewer or auditor; tenant roles for one
tenant); join tokens (role join) let node agents of one site enroll. A
token's secret is shown once, at creation: the server keeps only a keyed
hash of it, under the server's token key, which rotate-key and
retire-keys rotate without stopping every token. See docs/security.md.`,
	}
	cmd.AddCommand(newTokenCreateCmd(), newTokenListCmd(), newTokenRevokeCmd(), newTokenRotateKeyCmd(), newTokenRetireKeysCmd())
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	r := remote{admin: true}
	var req api.TokenRequest
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create NAME --role ROLE [--tenant T | --site S] [--ttl D]",
		Short: "Create a token and print its secret (shown once)",
		Long: `Creates a token and prints its secret, shown only now. A tenant role
(tenant-admin, member, viewer, auditor) is of --tenant; a tenant-admin
grants its own tenant's roles only, and --tenant defaults to its tenant,
as a job's tenant does. A token a tenant-admin creates never outlives the
tenant-admin's: its expiry is at most that one's (a later --ttl, or none,
gets it), and it is revoked with it.`,
		Example: `  carnot token create alice --role member --tenant climate --ttl 720h
  carnot token create rack-12 --role join --site paris-1 --ttl 1h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl < 0 {
				return usageError{fmt.Errorf("--ttl: must not be negative")}
			}
			if ttl > 0 && ttl < time.Second {
				// It would be sent as 0 seconds: no expiry at all.
				return usageError{fmt.Errorf("--ttl %s: at least 1s (a token lasts whole seconds; 0 is no expiry)", ttl)}
			}
			if ttl%time.Second != 0 {
				// Cut to whole seconds, it would end earlier than asked.
				return usageError{fmt.Errorf("--ttl %s: must be whole seconds", ttl)}
			}
			req.Name, req.TTLSeconds = args[0], int64(ttl/time.Second)
			c, err := r.client()
			if err != nil {
				return err
			}
			tok, err := c.CreateToken(ctxOf(cmd), req)
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, tok)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", tok.Secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s (id %s, role %s%s) created; the line above is its secret, shown only now\n", tok.Name, tok.ID, tok.Role, lifeText(tok, req.TTLSeconds))
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Role, "role", "", "operator-admin, operator, tenant-admin, member, viewer, auditor or join (required)")
	cmd.Flags().StringVar(&req.Tenant, "tenant", "", "the tenant of a tenant role (default: yours, for a tenant-admin)")
	cmd.Flags().StringVar(&req.Site, "site", "", "the site of a join token")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "life of the token, whole seconds (0: no expiry; join tokens 24h)")
	cmd.MarkFlagRequired("role")
	r.addFlags(cmd)
	return cmd
}

// lifeText tells when tok expires, and whether the server gave it less
// than the ttlSeconds asked for (none: for ever, or a day for a join
// token): a token a tenant-admin makes expires with the tenant-admin's.
func lifeText(tok *api.Token, ttlSeconds int64) string {
	if tok.Expires == nil {
		return ""
	}
	s := ", expires " + tok.Expires.UTC().Format(time.RFC3339)
	asked := time.Duration(ttlSeconds) * time.Second
	if asked == 0 && tok.Role == "join" {
		asked = 24 * time.Hour
	}
	if asked == 0 || tok.Expires.Before(tok.Created.Add(asked)) {
		s += ": your token's expiry, which a token you make cannot outlive"
	}
	return s
}

func newTokenListCmd() *cobra.Command {
	r := remote{admin: true}
	cmd := &cobra.Command{
		Use:   "list [-o table|json|yaml]",
		Short: "List the tokens you may see (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			l, err := c.ListTokens(ctxOf(cmd))
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, l)
			}
			return tokenTable(cmd.OutOrStdout(), l.Tokens)
		},
	}
	r.addFlags(cmd)
	return cmd
}

func tokenTable(w io.Writer, toks []api.Token) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tSCOPE\tCREATED\tEXPIRES\tSTATE")
	for _, t := range toks {
		scope := t.Tenant
		if t.Site != "" {
			scope = "site " + t.Site
		}
		expires, state := "never", "active"
		if t.Expires != nil {
			expires = t.Expires.Format(time.RFC3339)
			if !time.Now().Before(*t.Expires) {
				state = "expired"
			}
		}
		if t.PreviousKey && state == "active" {
			state = "previous key" // authenticates until carnot token retire-keys
		}
		if t.OtherKey {
			state = "other key" // made under a previous token key: does not authenticate
		}
		if t.Revoked != nil {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, or(scope, "-"),
			t.Created.Format(time.RFC3339), expires, state)
	}
	return tw.Flush()
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tokenID is the form of a token's ID: 16 hex digits.
var tokenID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func newTokenRevokeCmd() *cobra.Command {
	r := remote{admin: true}
	cmd := &cobra.Command{
		Use:   "revoke ID…",
		Short: "Revoke tokens: they stop working at once",
		Long: `Revokes tokens by ID: the 16 hex digits after carnot_ in a token's
secret, as "carnot token list" shows them. They stop working at once.
A whole token (carnot_ID_SECRET) is revoked by its ID; its secret is not
sent.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				if tid, _, err := auth.Parse(id); err == nil {
					// A whole token (a leaked one, pasted): its ID, and
					// its secret goes nowhere.
					id = tid
				}
				t, err := c.RevokeToken(ctxOf(cmd), id)
				switch {
				case client.IsNotFound(err) && tokenID.MatchString(id):
					// an ID: one that is gone, or another tenant's
					return fmt.Errorf("no token %q among those you may see (\"carnot token list\" shows them)", id)
				case client.IsNotFound(err):
					return fmt.Errorf("%w; revoke takes a token's ID: the 16 hex digits after carnot_, as \"carnot token list\" shows", err)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s)\n", t.ID, t.Name)
			}
			return nil
		},
	}
	r.addServerFlag(cmd)
	return cmd
}

func newWhoAmICmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who your credentials say you are",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			p, err := c.WhoAmI(ctxOf(cmd))
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, p)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: role %s", p.Subject, p.Role)
			if p.Tenant != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ", tenant %s", p.Tenant)
			}
			fmt.Fprintf(cmd.OutOrStdout(), " (%s listener)\n", p.Listener)
			return nil
		},
	}
	r.addFlags(cmd)
	return cmd
}
