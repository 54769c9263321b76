// Package scenario runs what-if studies on the digital twin: a
// scenario-set file (YAML, docs/plan.md) names a base facility, a
// workload and variant axes — policies (overrides of the facility's
// scheduling policy), facilities (more or fewer GPUs, a smaller power
// envelope) and grids (the hourly carbon and price series the facility
// draws from). Their cross product, or an explicit list, gives the
// scenarios.
//
// The flow is Load (parse and check the file, every problem as
// file:line: field: message), Prepare (load the facility, workload and
// grid series and build every scenario's own facility, jobs and grid;
// nothing runs until all of them are valid), Run (each scenario is one
// independent sim.Run on a bounded pool of workers) and the writers of
// plan.json and plan.html. Results are indexed by the scenario's
// position in the set, never by completion order, so the output does not
// depend on the number of workers.
package scenario
