package cli

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/grid"
	"github.com/carnot-dc/carnot/internal/model"
)

// loadGrids reads --grid ZONE=CSV flags, at most one per zone (the
// core and the ledger each take a zone's series as the only one).
func loadGrids(specs []string) ([]model.GridSeries, error) {
	var out []model.GridSeries
	seen := map[string]string{}
	for _, g := range specs {
		zone, path, ok := strings.Cut(g, "=")
		if !ok || zone == "" || path == "" {
			return nil, usageError{fmt.Errorf("--grid %q: want ZONE=FILE, e.g. FR=fr-2023-hourly.csv", g)}
		}
		if prev, dup := seen[zone]; dup {
			return nil, usageError{fmt.Errorf("--grid %q: zone %s already has a series (--grid %s=%s); give one file per zone", g, zone, zone, prev)}
		}
		seen[zone] = path
		gs, err := grid.LoadFile(zone, path)
		if err != nil {
			return nil, err
		}
		out = append(out, gs)
	}
	return out, nil
}
