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
// WriteText is the deterministic table used by `carnot schedule -o table`
// and by the scheduler's golden files; WriteJSON is the stable
// machine-readable form.
package plan
