package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A pending job without an estimate says why there is none: "unknown"
// alone read as a fault of the tool.
func TestWhyUnknownEstimateSaysWhy(t *testing.T) {
	var b bytes.Buffer
	y := &api.Why{Job: "big", State: api.StatePending}
	if err := writeWhy(&b, time.Now(), y); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "estimated start: unknown (none found from the runtime limits") ||
		!strings.Contains(b.String(), "without a runtime_limit counts as running for ever") {
		t.Errorf("why without an estimate:\n%s", b.String())
	}
}
