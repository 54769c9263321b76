package audit

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Format names the export format in its header line.
const Format = "carnot-audit/1"

// record is one line of an export: exactly one of its parts is set. The
// first line is the header (Format and Origin); then each entry, in Seq
// order, and each checkpoint right after the last entry it signs.
type record struct {
	Format     string          `json:"format,omitempty"`
	Origin     string          `json:"origin,omitempty"`
	Entry      json.RawMessage `json:"entry,omitempty"`
	Checkpoint string          `json:"checkpoint,omitempty"`
}

// Export writes l as JSON lines (docs/audit.md): a header naming the
// log, every entry in canonical form up to the largest checkpoint's tree
// size, and each checkpoint right after the entry that completes the
// tree it signs. Checkpoints must be of this log and no larger than it;
// they are written in size order. Entries appended after the largest
// checkpoint was signed (a log others append to while it is exported)
// are left out: no checkpoint covers them, and the format wants every
// entry covered. Without checkpoints, every entry is written. The
// entries are read while ctx is not done: once it is (the client of a
// server's export went away), Export stops with its error, reading no
// more.
func Export(ctx context.Context, w io.Writer, l *Log, checkpoints []Checkpoint) error {
	size, err := l.Size()
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	cps := slices.SortedStableFunc(slices.Values(checkpoints), func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	for _, c := range cps {
		if c.Origin != l.Origin() || c.Size > size {
			return fmt.Errorf("audit export: checkpoint of %q at tree size %d does not belong to %q of size %d", c.Origin, c.Size, l.Origin(), size)
		}
	}
	if len(cps) > 0 {
		size = cps[len(cps)-1].Size
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(record{Format: Format, Origin: l.Origin()}); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	writeCheckpoints := func(n int64) error {
		for len(cps) > 0 && cps[0].Size == n {
			if err := enc.Encode(record{Checkpoint: string(cps[0].Note)}); err != nil {
				return fmt.Errorf("audit export: %w", err)
			}
			cps = cps[1:]
		}
		return nil
	}
	if err := writeCheckpoints(0); err != nil {
		return err
	}
	const batch = 1024
	for from := int64(0); from < size; from += batch {
		recs, err := l.store.ReadRecords(ctx, from, min(from+batch, size))
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		for i, r := range recs {
			if err := enc.Encode(record{Entry: r}); err != nil {
				return fmt.Errorf("audit export: entry %d: %w", from+int64(i), err)
			}
			if err := writeCheckpoints(from + int64(i) + 1); err != nil {
				return err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}
