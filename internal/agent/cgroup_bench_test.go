package agent

import (
	"log/slog"
	"testing"
)

// BenchmarkTaskStartToEnd starts a task whose process exits at once and
// waits for its end as the agent does (its group and what left it
// cleared), in a cgroup of its own or without (go test -run '^$' -bench
// TaskStartToEnd ./internal/agent).
func BenchmarkTaskStartToEnd(b *testing.B) {
	for _, mode := range []string{CgroupsRequired, CgroupsOff} {
		b.Run("cgroups="+mode, func(b *testing.B) {
			dir := b.TempDir()
			r := newProcesses(dir, 0, slog.New(slog.DiscardHandler))
			if err := r.useCgroups(mode); err != nil {
				b.Skipf("this machine gives the agent no cgroups: %v", err)
			}
			if r.cg != nil {
				b.Cleanup(r.cg.close)
			}
			i := 0
			for b.Loop() {
				i++
				task := sh("j-bench", 0, "exit 0", nil)
				task.Attempt = i
				p, err := r.Start(task)
				if err != nil {
					b.Fatal(err)
				}
				if x := p.Wait(); x.Code != 0 {
					b.Fatalf("exit %+v", x)
				}
			}
		})
	}
}
