// Package model holds Carnot's plain domain types: the facility (sites,
// halls, racks, nodes, GPU models), tenants and their quotas, jobs and
// deployments, the snapshot the scheduling core reads and the plan it
// returns.
//
// The package does no IO and reads no clock. Times are Unix seconds
// (Time) and durations are seconds (Duration) so that the core and the
// digital twin compare and print them identically on every machine.
package model
