//go:build !race

package sim

// raceDetector: the tests run under the race detector.
const raceDetector = false
