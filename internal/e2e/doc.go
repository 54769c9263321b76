// Package e2e holds end-to-end tests of the live control plane: they
// build the carnot binary, start `carnot dev` on a random port with fake
// GPUs and a data directory of their own, and drive it through the API
// client and the CLI. Jobs run as real processes.
package e2e
