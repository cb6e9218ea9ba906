package measure

import (
	"strconv"
	"strings"
	"time"
)

// Millis formats d in milliseconds, the unit of every latency the
// benchmarks report, with as many decimals as are meaningful.
func Millis(d time.Duration) string {
	switch f := float64(d) / float64(time.Millisecond); {
	case f < 10:
		return strconv.FormatFloat(f, 'f', 2, 64)
	case f < 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	default:
		return Thousands(f)
	}
}

// Percent formats a fraction as a whole percentage.
func Percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// Thousands formats f rounded, with thousands separators.
func Thousands(f float64) string {
	s := strconv.FormatFloat(f, 'f', 0, 64)
	sign, digits := "", s
	if strings.HasPrefix(s, "-") {
		sign, digits = "-", s[1:]
	}
	for i := len(digits) - 3; i > 0; i -= 3 {
		digits = digits[:i] + "," + digits[i:]
	}
	return sign + digits
}

// Met formats a target's verdict.
func Met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
