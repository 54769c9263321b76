// Package archtest holds tests that guard Carnot's architecture: the
// scheduling core (internal/sched/...) and the domain model
// (internal/model) depend only on the standard library and the model,
// use no wall clock or global randomness, and every package documents
// itself.
package archtest
