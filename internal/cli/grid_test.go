package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadGridsRepeatedZone: two --grid flags for one zone are refused.
// The core weighed both series for deferral while the twin's ledger
// priced with the last and `carnot plan` with the first, so a run
// mixed two series without a word.
func TestLoadGridsRepeatedZone(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "fr.csv")
	if err := os.WriteFile(csv, []byte("datetime_utc,ci_direct_gco2_per_kwh,price_eur_per_mwh\n2023-01-01T00:00:00Z,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadGrids([]string{"FR=" + csv, "DE=" + csv, "FR=" + csv})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `--grid "FR=`) || !strings.Contains(err.Error(), "zone FR") {
		t.Fatalf("loadGrids with FR twice: %v, want a usage error naming the repeated zone FR", err)
	}
	if gs, err := loadGrids([]string{"FR=" + csv, "DE=" + csv}); err != nil || len(gs) != 2 {
		t.Fatalf("loadGrids FR and DE: %d series, %v", len(gs), err)
	}
}
