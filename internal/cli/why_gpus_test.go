package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A pending job's GPUs: how many it could use and are free, its
// tenant's jobs that hold them (with when they end) and the other
// tenants' in figures.
func TestWhyGPUs(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	in := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	for _, c := range []struct {
		name string
		g    api.WhyGPUs
		want string
	}{
		{"busy", api.WhyGPUs{Models: []string{"H100"}, Total: 64, Free: 8,
			Own:     []api.WhyHolder{{Job: "train-3", GPUs: 8, EndsAt: in(2 * time.Hour)}, {Job: "eval-1", GPUs: 8}},
			OwnGPUs: 16, Others: api.WhyOthers{Jobs: 6, GPUs: 40, FirstEnd: in(70 * time.Minute)}},
			"GPUs it may use: 64 H100 on par1, 8 free\n" +
				"  your jobs hold 16 (train-3: 8, ends in 2h; eval-1: 8, no runtime limit); 6 jobs of other tenants hold 40, the first expected to end in 1h10m\n"},
		{"more of its own, one other without a limit, a node down", api.WhyGPUs{Models: []string{"A100", "H100"}, Total: 32, Free: 0, Unavailable: 8,
			Own:     []api.WhyHolder{{Job: "a", GPUs: 4, EndsAt: in(-time.Minute)}},
			OwnMore: 2, OwnGPUs: 12, Others: api.WhyOthers{Jobs: 1, GPUs: 12}},
			"GPUs it may use: 32 A100 or H100 on par1, 0 free, 8 idle that take nothing new (on nodes draining or down, or down themselves)\n" +
				"  your jobs hold 12 (a: 4, ends 1m ago; 2 more jobs); 1 job of another tenant holds 12, without a runtime limit\n"},
		{"one of its own", api.WhyGPUs{Models: []string{"H100"}, Total: 8, Own: []api.WhyHolder{{Job: "a", GPUs: 8}}, OwnGPUs: 8},
			"GPUs it may use: 8 H100 on par1, 0 free\n  your job holds 8 (a: 8, no runtime limit)\n"},
		{"none at all", api.WhyGPUs{Models: []string{"B200"}},
			"GPUs it may use: none (no B200 on par1)\n"},
		{"all free", api.WhyGPUs{Models: []string{"H100"}, Total: 16, Free: 16},
			"GPUs it may use: 16 H100 on par1, 16 free\n"},
	} {
		var b bytes.Buffer
		g := c.g
		y := &api.Why{Job: "big", State: api.StatePending, Sites: []string{"par1"}, GPUs: &g}
		if err := writeWhy(&b, now, y); err != nil {
			t.Fatal(err)
		}
		if _, got, _ := strings.Cut(b.String(), "sites: par1\n"); got != c.want {
			t.Errorf("%s:\n%s\nwant the lines after the sites\n%s", c.name, b.String(), c.want)
		}
	}
}
