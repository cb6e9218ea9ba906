package loadbench

import (
	"errors"
	"math"
	"slices"
)

// Ramp says which offered rates the step ramp tries: Start, then Growth
// times the rate of each step that passes, until one fails; then halfway
// between the highest pass and the lowest failure, until they are
// Resolution apart. Rates are multiples of Resolution, except while no step
// has passed: then each try halves the lowest failure. It never offers more
// than Max nor runs more than MaxSteps steps.
type Ramp struct {
	Start      int
	Growth     float64
	Resolution int
	Max        int
	MaxSteps   int
}

// Validate reports a ramp that cannot run.
func (r Ramp) Validate() error {
	if r.Start < 1 || r.Growth <= 1 || r.Resolution < 1 || r.Max < r.Start || r.MaxSteps < 1 {
		return errors.New("ramp: start, resolution and steps must be positive, growth above 1, and max at least start")
	}
	return nil
}

// Verdict is a step's rate and whether it passed: p99 within the bound,
// nothing late, nothing lost.
type Verdict struct {
	Rate int
	Pass bool
}

// Next returns the rate of the step after done, or false when the knee is
// found as closely as the ramp allows.
func (r Ramp) Next(done []Verdict) (int, bool) {
	if len(done) == 0 {
		return r.Start, true
	}
	if len(done) >= r.MaxSteps {
		return 0, false
	}
	pass, fail := bounds(done)
	var next int
	switch {
	case fail == 0:
		next = min(r.grid(float64(pass)*r.Growth), r.Max)
		if next <= pass {
			return 0, false // at the maximum
		}
	case pass == 0:
		// Nothing passed yet: halve, below the resolution if need be, so
		// that even a slow system gets a knee.
		if fail <= 1 {
			return 0, false
		}
		next = fail / 2
	case fail-pass <= r.Resolution:
		return 0, false
	default:
		next = r.grid(float64(pass+fail) / 2)
		if next <= pass || next >= fail {
			return 0, false
		}
	}
	if slices.ContainsFunc(done, func(v Verdict) bool { return v.Rate == next }) {
		return 0, false
	}
	return next, true
}

// grid rounds x to the nearest multiple of the resolution, at least one.
func (r Ramp) grid(x float64) int {
	return max(r.Resolution, int(math.Round(x/float64(r.Resolution)))*r.Resolution)
}

// Knee is the highest rate that passed below every rate that failed: the
// highest the system sustains within the criteria. 0 if none passed.
func Knee(done []Verdict) int {
	pass, _ := bounds(done)
	return pass
}

// bounds returns the highest passing rate below the lowest failing one, and
// the lowest failing rate (0 for none).
func bounds(done []Verdict) (pass, fail int) {
	for _, v := range done {
		if !v.Pass && (fail == 0 || v.Rate < fail) {
			fail = v.Rate
		}
	}
	for _, v := range done {
		if v.Pass && v.Rate > pass && (fail == 0 || v.Rate < fail) {
			pass = v.Rate
		}
	}
	return pass, fail
}
