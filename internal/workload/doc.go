// Package workload generates synthetic, deterministic workloads and the
// benchmark facility they run on, for the scheduler's benchmarks, the
// digital twin and the CLI's "carnot workload generate".
//
// Generate(fac, n, seed, start) returns n jobs for fac: mostly small
// single-replica jobs, some gangs of 16–256 GPUs and a few of 512–4,096,
// spread across every tenant and priority class, with lognormal runtime
// limits, flexible windows, deployments, topology requirements and
// jurisdiction restrictions that the facility can satisfy. The same
// facility, n, seed and start always give the same jobs; randomness comes
// from a math/rand/v2 source seeded from seed, never the global source.
// Both leave a job a data class and jurisdictions whose sites hold its
// replicas by the job-file loader's rule (jobspec.Sizes). Generate is
// the benchmarks' workload and keeps jobs that their tenant's quotas
// can never run (about 2 % on the benchmark facility); a gang of it
// larger than any one site gets topology any. GenerateRunnable, for
// `carnot workload generate`, makes every job one the facility could
// run with nothing else running: within its tenant's quotas, and a gang
// that stays in one site no larger than such a site holds.
//
// GenerateFacility(cfg) builds the benchmark facility: by default 10,000
// nodes × 8 GPUs in four countries, NVLink-72 halls, leaves, spines, power
// caps below nameplate and 200 tenants in a cohort tree whose quotas sum
// to about the capacity.
//
// Every job GenerateRunnable or Generate returns loads back without
// error through jobspec.Load against the same facility once written
// with jobspec.Write, and through the twin's loader once
// DropUndefinedClasses has cleared the classes of a facility that
// defines none (TestGeneratedLoadBack, TestGenerateLoadBack).
package workload
