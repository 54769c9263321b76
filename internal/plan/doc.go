// Package plan checks a plan against the snapshot it was made from and
// renders it for people and programs.
//
// Verify is pure: the live server calls it before committing a plan (the
// propose → verify → commit loop) and the tests call it on every plan the
// core returns. It re-derives every invariant from the snapshot alone, so
// it shares no code with the core beyond two rules that both must agree
// on and that live here:
//
//   - JurisdictionOK, the sovereignty rule (which sites a job may use);
//   - PowerW and SitePowerW, the IT power formula.
//
// Quota limits come from the core's own cohort tree (internal/sched/quota,
// itself checked against Kueue's semantics in its tests): Verify replays
// the plan's starts on a fresh tree, so it catches a core that skips or
// misapplies the tree, not a bug inside it.
//
// WriteText is the deterministic table used by `carnot schedule -o table`
// and by the scheduler's golden files; WriteJSON is the stable
// machine-readable form.
package plan
