// Package plan checks a plan against the snapshot it was made from.
// Verify is pure: the live server calls it before committing a plan and
// the tests call it on every plan the core returns.
package plan
