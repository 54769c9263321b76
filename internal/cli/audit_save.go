package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/audit"
)

// saveKept writes ck to path (--save), unless path holds a checkpoint
// kept earlier that this run did not prove ck's tree extends: proven is
// the file checked against (--checkpoint), "" for none. Replacing a kept
// checkpoint with a shorter tree, another history or another log's
// would make the next check run against it, and a rollback or a fork
// look fine; one merely larger is refused too, as unproven. The same
// checkpoint again is written.
func saveKept(path string, ck audit.Checkpoint, proven string, v note.Verifier, previous []note.Verifier) error {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && len(bytes.TrimSpace(b)) == 0:
	case err != nil:
		return fmt.Errorf("--save: %w", err)
	case proven == "" || !sameFile(path, proven):
		kept, err := audit.OpenCheckpoint(b, v, previous...)
		switch {
		case err != nil:
			return fmt.Errorf("--save %s: the file holds no checkpoint this key opens (%w): not replaced; remove it first", path, err)
		case kept.Origin != ck.Origin:
			return fmt.Errorf("--save %s: %w: the kept checkpoint is of %q, this one of %q: not replaced", path, audit.ErrOrigin, kept.Origin, ck.Origin)
		case kept.Size > ck.Size:
			return fmt.Errorf("--save %s: %w: the kept checkpoint signs tree size %d, this one %d: not replaced", path, audit.ErrRollback, kept.Size, ck.Size)
		case kept.Size == ck.Size && kept.Root != ck.Root:
			return fmt.Errorf("--save %s: %w: the kept checkpoint and this one both sign tree size %d, with roots %s and %s: not replaced",
				path, audit.ErrForked, ck.Size, kept.Root, ck.Root)
		case kept.Size < ck.Size:
			return fmt.Errorf("--save %s: the kept checkpoint signs tree size %d, and nothing proved that this one's tree (%d) extends it: not replaced; "+
				"check against it with --checkpoint %s (carnot audit consistency --checkpoint %s --new FILE for a tenant's export's)",
				path, kept.Size, ck.Size, path, path)
		}
	}
	if err := os.WriteFile(path, ck.Note, 0o644); err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	return nil
}
