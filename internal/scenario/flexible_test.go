package scenario

import (
	"fmt"
	"math"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestFlexibleShare: flexible.share chose its jobs by the top bits of an
// FNV-1a hash of their IDs, which IDs that differ in their last
// characters hardly move: of 600 generated jobs (j0000001 …) share 0.3
// made none flexible and 0.7 all of them; of 1,000, 0.3 made 20 % and 0.5
// made 70 % (examples/plan/policies.yaml and grids.yaml). The share made
// flexible is now the share asked, within a few points, for generated
// and batch IDs alike.
func TestFlexibleShare(t *testing.T) {
	for _, ids := range []struct {
		format string
		n      int
	}{{"j%07d", 200}, {"j%07d", 600}, {"j%07d", 1000}, {"b%04d", 1000}, {"b%03d", 100}} {
		for _, share := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
			jobs := make([]*model.Job, ids.n)
			for i := range jobs {
				jobs[i] = &model.Job{ID: fmt.Sprintf(ids.format, i+1), Kind: model.KindJob, RuntimeLimit: model.Hour, SubmitTime: model.Time(1_700_000_000)}
			}
			(&FlexibleSpec{Share: share, Slack: model.Hour}).apply(jobs)
			flex := 0
			for _, j := range jobs {
				if j.Deadline > 0 {
					flex++
				}
			}
			// a binomial's spread is √(n·p·(1−p)): 4.6 jobs of 100 at
			// 0.3; allow 3.5 of them
			got, tol := float64(flex)/float64(ids.n), 3.5*math.Sqrt(share*(1-share)/float64(ids.n))
			if math.Abs(got-share) > tol {
				t.Errorf("%d IDs like %s, share %g: %.3f made flexible", ids.n, fmt.Sprintf(ids.format, 1), share, got)
			}
		}
	}
}
