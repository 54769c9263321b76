package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/client"
)

func newAuditConsistencyCmd() *cobra.Command {
	var r remote
	var key, checkpoint, newer, save string
	var previousKeys []string
	cmd := &cobra.Command{
		Use:   "consistency --key VERIFIER_KEY_OR_FILE [--checkpoint FILE [--previous-key KEY]… [--new FILE]] [--save FILE]",
		Short: "Check that the server's audit log only grew since a checkpoint you kept",
		Long: `Fetches a checkpoint of the server's audit log signed now and the proof
that the tree a checkpoint kept earlier (--checkpoint) signs is a prefix of
it, and checks both with the verifier key: nothing the kept checkpoint covers
was changed, removed or reordered since. The proof holds hashes only, so a
tenant's credentials do. Without --checkpoint, only the new checkpoint's
signature is checked. --save writes the new checkpoint once checked, to pass
as --checkpoint next time. After a rotation of the server's signer key,
--previous-key (the verifier key of before, repeatable) opens a
--checkpoint kept from before; the server's checkpoint must be signed by
--key. With --new, a second checkpoint kept later, the proof is of
--checkpoint's tree against that one's, both as kept: the server's own
checkpoint is not trusted for it. Prints "ok: …", or what is wrong (a forked history,
a rolled-back log, another key, another log) and then exits 1.`,
		Example: `  carnot audit consistency --key carnot-paris.pub --save last.note
  carnot audit consistency --key carnot-paris.pub --checkpoint last.note --save last.note
  carnot audit consistency --key carnot-paris.pub --checkpoint last.note --new acme-export.note`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				return usageError{errors.New("--key: the verifier key (or a file holding it) is required")}
			}
			v, err := loadVerifier(key)
			if err != nil {
				return err
			}
			previous, err := loadVerifiers("--previous-key", previousKeys)
			if err != nil {
				return err
			}
			if newer != "" && (checkpoint == "" || save != "") {
				return usageError{errors.New("--new: give the older checkpoint with --checkpoint, and no --save")}
			}
			var kept *audit.Checkpoint
			if checkpoint != "" {
				ck, err := openKept("--checkpoint", checkpoint, v, previous)
				if err != nil {
					return err
				}
				kept = &ck
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			if newer != "" {
				later, err := openKept("--new", newer, v, previous)
				if err != nil {
					return err
				}
				if err := between(ctxOf(cmd), c, *kept, later); err != nil {
					return fmt.Errorf("%s against %s: %w", newer, checkpoint, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok: tree size %d, root %s (%s) of %s, extends tree size %d of %s\n",
					later.Size, later.Root, later.Origin, newer, kept.Size, checkpoint)
				return nil
			}
			now, err := extends(ctxOf(cmd), c, v, kept)
			if err != nil {
				if kept == nil {
					return err
				}
				return fmt.Errorf("the server's audit log against %s: %w", checkpoint, err)
			}
			if save != "" {
				if err := saveKept(save, now, checkpoint, v, previous); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if kept == nil {
				fmt.Fprintf(out, "ok: tree size %d, root %s (%s), signed by %s\n", now.Size, now.Root, now.Origin, v.Name())
				return nil
			}
			fmt.Fprintf(out, "ok: tree size %d, root %s (%s), extends tree size %d of %s\n",
				now.Size, now.Root, now.Origin, kept.Size, checkpoint)
			return nil
		},
	}
	r.addServerFlag(cmd)
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "the verifier key (NAME+HASH+KEY), or a file holding it")
	f.StringVar(&checkpoint, "checkpoint", "", "a signed checkpoint kept from an earlier check (or from 'carnot audit verify --save')")
	f.StringVar(&newer, "new", "", "a checkpoint kept later than --checkpoint: prove --checkpoint's tree a prefix of this one's")
	f.StringArrayVar(&previousKeys, "previous-key", nil, "a verifier key (or file) the server signed with before a rotation: opens --checkpoint only (repeatable)")
	f.StringVar(&save, "save", "", "write the server's new checkpoint to this file once checked")
	return cmd
}

// extends fetches a checkpoint of the server's log signed now and, when
// kept is set, the proof that kept's tree is a prefix of it, and checks
// both with v. It returns the new checkpoint.
func extends(ctx context.Context, c *client.Client, v note.Verifier, kept *audit.Checkpoint) (audit.Checkpoint, error) {
	if kept == nil || kept.Size == 0 {
		now, err := checkpointNow(ctx, c, v)
		if err == nil && kept != nil {
			err = audit.VerifyConsistency(*kept, now, nil)
		}
		return now, err
	}
	res, err := c.AuditConsistency(ctx, kept.Size, 0)
	if client.StatusOf(err) == http.StatusBadRequest {
		// The server refuses a tree size beyond its log's: its own
		// signed checkpoint shows the rollback.
		if now, nowErr := checkpointNow(ctx, c, v); nowErr == nil && now.Size < kept.Size {
			return audit.Checkpoint{}, audit.VerifyConsistency(*kept, now, nil)
		}
	}
	if err != nil {
		return audit.Checkpoint{}, err
	}
	now, err := audit.OpenCheckpoint([]byte(res.Checkpoint), v)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("the server's checkpoint: %w", err)
	}
	if res.Old != kept.Size {
		return audit.Checkpoint{}, fmt.Errorf("%w: a proof from tree size %d, not %d", audit.ErrMalformed, res.Old, kept.Size)
	}
	proof, err := audit.DecodeHashes(res.Proof)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	if err := audit.VerifyConsistency(*kept, now, proof); err != nil {
		return audit.Checkpoint{}, err
	}
	return now, nil
}

// openKept reads and opens the checkpoint kept in file (flag's), signed
// by v or one of previous.
func openKept(flag, file string, v note.Verifier, previous []note.Verifier) (audit.Checkpoint, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("%s: %w", flag, err)
	}
	ck, err := audit.OpenCheckpoint(b, v, previous...)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("%s %s: %w", flag, file, err)
	}
	return ck, nil
}

// between fetches the proof that older's tree is a prefix of newer's and
// checks it against both, as kept.
func between(ctx context.Context, c *client.Client, older, newer audit.Checkpoint) error {
	if older.Origin != newer.Origin || newer.Size < older.Size || older.Size == 0 {
		return audit.VerifyConsistency(older, newer, nil)
	}
	res, err := c.AuditConsistency(ctx, older.Size, newer.Size)
	if err != nil {
		return err
	}
	if res.Old != older.Size {
		return fmt.Errorf("%w: a proof from tree size %d, not %d", audit.ErrMalformed, res.Old, older.Size)
	}
	proof, err := audit.DecodeHashes(res.Proof)
	if err != nil {
		return err
	}
	return audit.VerifyConsistency(older, newer, proof)
}

// checkpointNow fetches a checkpoint of the server's log signed now and
// opens it with v.
func checkpointNow(ctx context.Context, c *client.Client, v note.Verifier) (audit.Checkpoint, error) {
	b, err := c.AuditCheckpoint(ctx)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	now, err := audit.OpenCheckpoint(b, v)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("the server's checkpoint: %w", err)
	}
	return now, nil
}
