package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/server"
)

// A token key file holds one key per line, oldest first: the last is
// the key new tokens are made under, the others previous keys whose
// tokens still authenticate. A deliberate rotation appends a key
// (carnot token rotate-key), restarts every server with the file,
// replaces the tokens of the previous keys, then drops them (carnot
// token retire-keys). Both edit the file only: a running server reads
// it at its start.

// tokenKeyFileFlags adds --data-dir and --token-key, which name the
// token key file as carnot server's do, to c.
func tokenKeyFileFlags(c *cobra.Command, dataDir, file *string) {
	c.Flags().StringVar(dataDir, "data-dir", "carnot-data", "the server's data directory, whose token.key to change")
	c.Flags().StringVar(file, "token-key", "", "the token key file to change, when the server runs with --token-key")
}

// tokenKeyPath is the token key file the flags name.
func tokenKeyPath(dataDir, file string) string {
	if file != "" {
		return file
	}
	return filepath.Join(dataDir, tokenKeyFile)
}

// readTokenKeys reads the keys of the token key file at path, oldest
// first, refusing it as a server would.
func readTokenKeys(path string) ([][]byte, error) {
	b, err := readPrivate(path)
	if err != nil {
		return nil, keyFileError("token key", path, err)
	}
	return parseTokenKeys(path, b)
}

// writeTokenKeys replaces the token key file at path with keys.
func writeTokenKeys(path string, keys [][]byte) error {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(hex.EncodeToString(k) + "\n")
	}
	if err := writePrivate(path, []byte(b.String())); err != nil {
		return fmt.Errorf("token key %s: %w", path, err)
	}
	return nil
}

// keyID is the ID of token key k (auth.Hasher.KeyID).
func keyID(k []byte) string {
	id, err := server.TokenKeyIDOf(k)
	if err != nil {
		return "?"
	}
	return id
}

func newTokenRotateKeyCmd() *cobra.Command {
	var dataDir, file string
	c := &cobra.Command{
		Use:   "rotate-key",
		Short: "Add a new token key to the server's key file; the previous keys' tokens keep working",
		Long: `Appends a new random key to the server's token key file (DATA-DIR/token.key,
or the --token-key file; mode 0600). Servers started with the file make new
tokens, and the agents' logs tokens, under the new key; tokens made under
the previous keys still authenticate. Restart every server of the
deployment with the same file, replace the tokens of the previous keys
('carnot token list' shows them in state "previous key"), then drop those
keys with 'carnot token retire-keys'. The file is
changed, not the running servers: they read it at their start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := tokenKeyPath(dataDir, file)
			keys, err := readTokenKeys(path)
			if err != nil {
				return err
			}
			key := newTokenKey()
			if err := writeTokenKeys(path, append(keys, key)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token key %s: new key ID %s (was %s); restart every server with this file, then replace the older keys' tokens and run carnot token retire-keys\n",
				path, keyID(key), keyID(keys[len(keys)-1]))
			return nil
		},
	}
	tokenKeyFileFlags(c, &dataDir, &file)
	return c
}

func newTokenRetireKeysCmd() *cobra.Command {
	var dataDir, file string
	c := &cobra.Command{
		Use:   "retire-keys",
		Short: "Drop the previous keys of the server's token key file: their tokens stop",
		Long: `Keeps only the newest key of the server's token key file (DATA-DIR/token.key,
or the --token-key file): once every server restarts with it, the tokens
made under the dropped keys, and the tokens minted through them, no longer
authenticate, nor do the job tokens of tasks started before the rotation
(their checkpoint reports are refused; the server's first start with the
file logs and audits how many running attempts hold them). Run it after
'carnot token rotate-key' once those tokens are replaced. The file is changed, not the running servers: they read it at
their start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := tokenKeyPath(dataDir, file)
			keys, err := readTokenKeys(path)
			if err != nil {
				return err
			}
			if len(keys) == 1 {
				return errors.New("token key " + path + " holds one key only: nothing to retire (carnot token rotate-key adds one)")
			}
			var ids []string
			for _, k := range keys[:len(keys)-1] {
				ids = append(ids, keyID(k))
			}
			if err := writeTokenKeys(path, keys[len(keys)-1:]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token key %s: retired key ID %s; key ID %s remains; restart every server with this file\n",
				path, strings.Join(ids, ", "), keyID(keys[len(keys)-1]))
			fmt.Fprintln(cmd.OutOrStdout(), "tasks started before the rotation hold job tokens of the retired keys: once their server restarts with this file, "+
				"their checkpoint reports are refused until their job's next attempt; the server's first start logs and audits how many running attempts hold them")
			return nil
		},
	}
	tokenKeyFileFlags(c, &dataDir, &file)
	return c
}
