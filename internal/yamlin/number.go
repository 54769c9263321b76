package yamlin

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// The loaders share one reading of numbers: YAML 1.2 core-schema floats
// (1.5, 1e3, .inf) are numbers, an integer field takes only a whole
// number written in digits, and a value that is not finite or does not
// fit is named as such, never "a string" or a clamped value.

// yamlFloat is the YAML 1.2 core schema's finite float, which goccy/go-yaml
// leaves as a plain string when it has an exponent and no dot (1e3) or
// does not fit uint64.
var yamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// yamlInt is an integer as YAML or JSON writes it: decimal digits (with
// _ separators), or 0x, 0o and 0b forms.
var yamlInt = regexp.MustCompile(`^[-+]?([0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)$`)

// PlainFloat reads an unquoted string node that YAML 1.2 takes for a
// number (1e3, 12e-1, an integer beyond uint64). A value beyond float64
// reads as ±Inf, which the caller's bounds refuse (see NotFinite).
func PlainFloat(n ast.Node) (float64, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok || s.Token == nil || s.Token.Type != token.StringType || !yamlFloat.MatchString(s.Value) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s.Value, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// NonFinite reports whether text is one of YAML's spellings of infinity
// or not-a-number (.inf, -.Inf, .NAN, …).
func NonFinite(text string) bool {
	switch strings.TrimLeft(text, "+-") {
	case ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN":
		return true
	}
	return false
}

// Float reads a number node (KindInt or KindFloat) as a finite float64.
// When it cannot, problem says why, naming the value: ".inf is not a
// finite number", "1e400 is beyond any usable number"; it is "" for a
// node that is no number at all, which the caller words itself.
func Float(n *Node) (f float64, problem string) {
	switch n.Kind {
	case KindInt:
		return float64(n.Int), ""
	case KindFloat:
	default:
		return 0, ""
	}
	t := Truncate(n.Text, 40)
	if NonFinite(n.Text) {
		return 0, t + " is not a finite number"
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Text, "_", ""), 64)
	switch {
	case err == nil:
		return f, ""
	case errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0):
		return 0, t + " is beyond any usable number"
	case errors.Is(err, strconv.ErrRange): // underflow to 0: a number still
		return f, ""
	}
	// an integer beyond int64 in a form ParseFloat does not read (0x…)
	return 0, t + " is beyond any usable number"
}

// IntegerProblem words why text, a number as written that is not an
// int64 integer (the Text of a KindFloat node, or the token of a
// float, .inf, .nan or an integer beyond int64), cannot be a whole
// number from lo to hi. It names the value and what to write instead:
//
//	.inf is not a finite number; use a whole number from 0 to 4096
//	1.5 is not a whole number; use a whole number from 0 to 4096
//	1e3 is written as a decimal number; write 1000
//	99999999999999999999 is out of range; use a whole number from 0 to 4096
func IntegerProblem(text string, lo, hi int64) string {
	return numberProblem(text, lo, hi, fmt.Sprintf("use a whole number from %d to %d", lo, hi), "")
}

// DurationProblem words, as IntegerProblem does, why text cannot be a
// duration of whole seconds up to hi, which most says as a reader
// would (model.Duration's Readable: "100 years (36500d)"):
//
//	1.5 is not a whole number; use whole seconds or a duration such as "90m", "4h" or "2d", from 0 to 100 years (36500d)
//	1e3 is written as a decimal number; write 1000 seconds, or a duration such as "90m", "4h" or "2d"
func DurationProblem(text string, hi int64, most string) string {
	const such = `a duration such as "90m", "4h" or "2d"`
	return numberProblem(text, 0, hi, "use whole seconds or "+such+", from 0 to "+most, " seconds, or "+such)
}

// numberProblem is IntegerProblem's wording with use (what to write
// instead) and unit (after a decimal number's integer) given.
func numberProblem(text string, lo, hi int64, use, unit string) string {
	t := Truncate(text, 40)
	if NonFinite(text) {
		return t + " is not a finite number; " + use
	}
	if yamlInt.MatchString(text) {
		return t + " is out of range; " + use
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(text, "_", ""), 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return t + " is not a whole number; " + use
	case math.IsInf(f, 0):
		return t + " is beyond any usable number; " + use
	case f != math.Trunc(f):
		return t + " is not a whole number; " + use
	case f < float64(lo) || f > float64(hi):
		return t + " is out of range; " + use
	}
	return fmt.Sprintf("%s is written as a decimal number; write %d%s", t, int64(f), unit)
}
