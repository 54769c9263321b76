package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/audit"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Keys for, samples of and verification of the tamper-evident audit log",
		Long: `The audit log records API calls and scheduling decisions in a Merkle tree
whose roots are signed (docs/audit.md). These commands make a signing
key, write a sample export, verify an export offline, fetch an export or
a tenant's entries, and check that a server's log only grew since a
checkpoint you kept.`,
	}
	cmd.AddCommand(newAuditKeygenCmd(), newAuditVerifyCmd(), newAuditDemoCmd(), newAuditExportCmd(),
		newAuditConsistencyCmd())
	return cmd
}

func newAuditKeygenCmd() *cobra.Command {
	var name, dir string
	cmd := &cobra.Command{
		Use:   "keygen --name NAME [--out-dir DIR]",
		Short: "Make an Ed25519 key pair for signing audit checkpoints",
		Long: `Writes the signer key to DIR/NAME.key (mode 0600; keep it secret, it
signs checkpoints) and the verifier key to DIR/NAME.pub, and prints the
verifier key: give it to whoever verifies the log.`,
		Example: `  carnot audit keygen --name carnot-paris --out-dir /etc/carnot`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usageError{errors.New("--name: the key needs a name")}
			}
			if strings.ContainsAny(name, `/\`) {
				return usageError{fmt.Errorf("--name %q: no slashes; the name is also the file name", name)}
			}
			skey, vkey, err := note.GenerateKey(rand.Reader, name)
			if err == nil {
				_, err = note.NewVerifier(vkey) // GenerateKey does not check the name
			}
			if err != nil {
				return usageError{fmt.Errorf("--name %q: %w", name, err)}
			}
			spath := filepath.Join(dir, name+".key")
			if err := writeNew(spath, skey+"\n", 0o600); err != nil {
				return err
			}
			if err := writeNew(filepath.Join(dir, name+".pub"), vkey+"\n", 0o644); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), vkey)
			fmt.Fprintf(cmd.ErrOrStderr(), "signer key written to %s\n", spath)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the key's name, e.g. carnot-paris (no spaces or '+')")
	cmd.Flags().StringVar(&dir, "out-dir", ".", "directory to write NAME.key and NAME.pub to")
	return cmd
}

// writeNew writes a file that must not exist yet.
func writeNew(path, data string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}

func newAuditVerifyCmd() *cobra.Command {
	var key, checkpoint, save string
	var previousKeys []string
	cmd := &cobra.Command{
		Use:   "verify --key VERIFIER_KEY_OR_FILE [--checkpoint FILE [--previous-key KEY]…] [--save FILE] EXPORT.jsonl",
		Short: "Verify an audit log export offline",
		Long: `Checks every entry of an export against every signed checkpoint in it,
and, with --checkpoint, that the export extends a checkpoint kept from an
earlier verification (without one, a truncated export cannot be told from
an older one). --save writes the export's latest checkpoint, to pass as
--checkpoint next time. After a rotation of the server's signer key,
--previous-key (the verifier key of before, repeatable) opens a
--checkpoint kept from before; the export itself must be signed by --key.
Prints "ok: …" or what is wrong, and then exits 1.

A tenant's export ('carnot audit export --tenant T' or --job J) is checked
entry by entry: the checkpoint's signature and each entry's inclusion
proof in the tree it signs. That the log only grew since a checkpoint you
kept is 'carnot audit consistency'.`,
		Example: `  carnot audit verify --key carnot-paris.pub --checkpoint last.note --save last.note audit.jsonl
  carnot audit verify --key carnot-paris.pub acme.json     # carnot audit export --tenant acme -o acme.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			var trusted []byte
			if checkpoint != "" {
				if trusted, err = os.ReadFile(checkpoint); err != nil {
					return fmt.Errorf("--checkpoint: %w", err)
				}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			defer f.Close()
			r := bufio.NewReader(f)
			if isProofs(r) {
				if trusted != nil {
					return usageError{errProofsCheckpoint}
				}
				cp, n, tenant, err := verifyProofs(r, v)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if save != "" {
					if err := saveKept(save, cp, "", v, previous); err != nil {
						return err
					}
				}
				of := ""
				if n > 0 {
					of = " of tenant " + or(tenant, `""`)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok: %d entries%s proven included in tree size %d, root %s (%s)\n",
					n, of, cp.Size, cp.Root, cp.Origin)
				return nil
			}
			res, err := audit.Verify(r, v, trusted, previous...)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if save != "" {
				latest, err := audit.OpenCheckpoint(res.Latest, v)
				if err == nil {
					err = saveKept(save, latest, checkpoint, v, previous)
				}
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d entries, tree size %d, root %s (%s, %d checkpoints)\n",
				res.Entries, res.Size, res.Root, res.Origin, res.Checkpoints)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "the verifier key (NAME+HASH+KEY), or a file holding it")
	f.StringVar(&checkpoint, "checkpoint", "", "a signed checkpoint kept from an earlier verification")
	f.StringArrayVar(&previousKeys, "previous-key", nil, "a verifier key (or file) the server signed with before a rotation: opens --checkpoint only (repeatable)")
	f.StringVar(&save, "save", "", "write the export's latest checkpoint to this file")
	return cmd
}

// loadVerifier reads a verifier key given inline or as a file.
func loadVerifier(key string) (note.Verifier, error) { return loadKey("--key", key) }

// loadVerifiers reads the verifier keys of a repeatable flag.
func loadVerifiers(flag string, keys []string) ([]note.Verifier, error) {
	out := make([]note.Verifier, len(keys))
	for i, k := range keys {
		var err error
		if out[i], err = loadKey(flag, k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loadKey reads the verifier key of flag, given inline or as a file.
func loadKey(flag, key string) (note.Verifier, error) {
	if v, err := note.NewVerifier(key); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(key)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s %q: neither a verifier key nor a readable file: %w", flag, key, err)}
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, key, err)
	}
	return v, nil
}

func newAuditDemoCmd() *cobra.Command {
	var key, out, origin string
	var n, every int
	cmd := &cobra.Command{
		Use:   "demo --key SIGNER_FILE --entries N -o EXPORT.jsonl",
		Short: "Write a sample audit log export, to try the verifier on",
		Long: `Writes an export of N made-up entries (submissions, starts, preemptions…)
signed every --every entries and at the end, as the server will write real
ones. Verify it with 'carnot audit verify', then edit a line and verify again.`,
		Example: `  carnot audit keygen --name demo
  carnot audit demo --key demo.key --entries 1000 -o audit.jsonl
  carnot audit verify --key demo.pub audit.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case key == "" || out == "":
				return usageError{errors.New("--key and -o are required")}
			case n < 1 || every < 1:
				return usageError{fmt.Errorf("--entries %d, --every %d: want 1 or more", n, every)}
			}
			skey, err := os.ReadFile(key)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			s, err := note.NewSigner(strings.TrimSpace(string(skey)))
			if err != nil {
				return fmt.Errorf("--key %s: not a signer key: %w", key, err)
			}
			l, err := audit.New(origin, audit.NewMemStore())
			if err != nil {
				return usageError{fmt.Errorf("--origin: %w", err)}
			}
			var cps []audit.Checkpoint
			for i := range n {
				if _, err := l.Append(demoEntry(i)); err != nil {
					return err
				}
				if (i+1)%every == 0 || i == n-1 {
					cp, err := l.Checkpoint(s)
					if err != nil {
						return err
					}
					cps = append(cps, cp)
				}
			}
			var b bytes.Buffer
			if err := audit.Export(cmd.Context(), &b, l, cps); err != nil {
				return err
			}
			if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("audit demo: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d entries, %d checkpoints\n", out, n, len(cps))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "the signer key file (from 'carnot audit keygen')")
	f.IntVar(&n, "entries", 100, "number of entries")
	f.IntVar(&every, "every", 100, "sign a checkpoint every this many entries")
	f.StringVarP(&out, "output", "o", "", "the export file to write")
	f.StringVar(&origin, "origin", "carnot audit demo", "the log's name, first line of its checkpoints")
	return cmd
}

// demoEntry is the i-th made-up entry of 'carnot audit demo'.
func demoEntry(i int) audit.Entry {
	tenants := []string{"acme", "globex", "initech"}
	actions := []string{audit.ActionSubmit, audit.ActionStart, audit.ActionPreempt, audit.ActionDefer, audit.ActionCancel, audit.ActionReject}
	e := audit.Entry{
		Time:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
		Kind:   audit.KindDecision,
		Actor:  "scheduler",
		Tenant: tenants[(i/len(actions))%len(tenants)],
		Job:    fmt.Sprintf("job-%d", i/len(actions)),
		Action: actions[i%len(actions)],
	}
	switch e.Action {
	case audit.ActionSubmit, audit.ActionCancel:
		e.Kind, e.Actor = audit.KindAPI, "user@"+e.Tenant
	case audit.ActionStart, audit.ActionPreempt:
		e.Node = fmt.Sprintf("gpu-%02d", i%16)
	}
	e.Detail = fmt.Sprintf("%s %s of tenant %s", e.Action, e.Job, e.Tenant)
	return e
}
