// Package quota is the hierarchical quota tree of the scheduling core:
// tenants are leaves, cohorts are inner nodes, and every node has, per GPU
// model, a nominal quota with optional borrowing and lending limits.
//
// The semantics follow Kueue's cohorts. A node's guaranteed quota is the
// part of its nominal quota it does not lend (nominal − lending limit);
// the rest is offered to its parent. A cohort's subtree quota is its own
// nominal quota plus what its children offer, and its usage is what its
// children use beyond their guaranteed quota. What a node may still use
// is its own unused guaranteed quota plus what its parent has available,
// limited by the node's borrowing limit.
//
// The tree is a plain value: Clone gives an independent copy for what-if
// searches (preemption), and every method is pure arithmetic.
package quota
