// Package trace reads public GPU-cluster traces into Carnot's model for
// the digital twin, and builds the facilities those traces are replayed
// on.
//
// The Philly reader takes the per-job CSV derived from Microsoft's Philly
// trace (Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU Clusters
// for DNN Training Workloads", USENIX ATC 2019; per-job derivation by the
// Pollux authors, OSDI 2021; licensed CC-BY-4.0):
//
//	jobs, err := trace.LoadPhilly("philly.csv", trace.Options{Scale: 2})
//
// Each row becomes one gang (model.Job) whose RuntimeLimit is the trace's
// run time; Options scale the arrival rate, cut a time window and sample
// a deterministic subset. LoadVCNodes reads the per-VC node counts of the
// Helios study (Hu et al., SC'21) and HeliosFacility turns them into the
// replay setup of that study: every virtual cluster (VC) its own cluster
// of 8-GPU nodes that only the VC's tenant may use. Replayable then drops,
// with a note for the user, the jobs such a facility cannot replay: those
// of a VC without a size and those wider than their VC, which would never
// start and, with backfill off, would block their VC for ever.
//
// To replay a trace on a facility of one's own instead, OntoFacility puts
// each VC's jobs onto one of the facility's tenants by a Mapping: entries
// from a VC map file (ReadVCMap: CSV "vc,tenant") or flags
// (ParseMapFlag), a tenant-name prefix and a default tenant. It checks
// the mapping against the facility, naming each mistake where it was
// made, sets each job's preemptibility from its class, and leaves out,
// with a note, the jobs the facility could never start for their
// tenant: too wide for its sites (Fitting) or for its quota.
//
// Malformed input yields an Errors list: every problem with its
// file:line:column, the field, and what to do about it, at most
// MaxErrors of them. The readers never panic (they are fuzzed).
package trace
