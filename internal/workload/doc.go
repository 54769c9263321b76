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
// Generate is the benchmarks' workload and keeps jobs that their
// tenant's quotas can never run (about 2 % on the benchmark facility).
// GenerateRunnable, for `carnot workload generate`, makes every job one
// the facility could run with nothing else running: within its tenant's
// quotas, with a data class and jurisdictions that leave it nodes of its
// GPU model, a gang that stays in one site no larger than such a site
// holds, by the job-file loader's rule (jobspec.Sizes).
//
// GenerateFacility(cfg) builds the benchmark facility: by default 10,000
// nodes × 8 GPUs in four countries, NVLink-72 halls, leaves, spines, power
// caps below nameplate and 200 tenants in a cohort tree whose quotas sum
// to about the capacity.
//
// Every job GenerateRunnable returns, and every job Generate returns on
// the benchmark facility, loads back without error through jobspec.Load
// against the same facility once written with jobspec.Write.
package workload
