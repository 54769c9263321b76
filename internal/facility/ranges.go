package facility

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxExpand bounds how many names one pattern may produce, so that a typo
// such as gpu[1-10000000] is an error rather than an out-of-memory crash.
const maxExpand = 100_000

// expandPattern expands a name pattern with bracketed ranges, in the style
// of Slurm host lists:
//
//	gpu[001-128]   gpu001 … gpu128 (a leading zero in the lower bound sets the width)
//	a[1-3,7]       a1 a2 a3 a7
//	r[1-2]n[1-2]   r1n1 r1n2 r2n1 r2n2 (leftmost range outermost)
//
// A pattern without brackets is a single name.
func expandPattern(p string) ([]string, error) {
	pt, err := parsePattern(p)
	if err != nil {
		return nil, err
	}
	return pt.expand(), nil
}

// pattern is a parsed name pattern: it knows how many names it makes
// before making them, so that callers can refuse a pattern that would
// take them past a limit without spending the memory first.
type pattern struct {
	parts []patternPart
	n     int // names it expands to, at most maxExpand
}

// patternPart is literal text, or the items of one bracket when spans is
// not nil.
type patternPart struct {
	lit   string
	spans []span
}

// span is one item of a bracket: lo to hi, padded to width digits.
type span struct{ lo, hi, width int }

// parsePattern checks a pattern and counts its names.
func parsePattern(p string) (pattern, error) {
	pt := pattern{n: 1}
	for rest := p; rest != ""; {
		open := strings.IndexAny(rest, "[]")
		if open < 0 {
			pt.parts = append(pt.parts, patternPart{lit: rest})
			break
		}
		if rest[open] == ']' {
			return pattern{}, fmt.Errorf("%q has a ']' without a '['; write ranges as name[1-4] or name[1,3,5-7]", p)
		}
		closing := strings.IndexAny(rest[open+1:], "[]")
		if closing < 0 || rest[open+1+closing] == '[' {
			return pattern{}, fmt.Errorf("%q has a '[' that is not closed; write ranges as name[1-4] or name[1,3,5-7]", p)
		}
		spans, n, err := parseRange(rest[open+1 : open+1+closing])
		if err != nil {
			return pattern{}, fmt.Errorf("%q: %w", p, err)
		}
		if pt.n*n > maxExpand {
			return pattern{}, fmt.Errorf("%q expands to more than %d names; split it into smaller groups", p, maxExpand)
		}
		pt.n *= n
		pt.parts = append(pt.parts, patternPart{lit: rest[:open]}, patternPart{spans: spans})
		rest = rest[open+1+closing+1:]
	}
	return pt, nil
}

// expand makes the names, leftmost range outermost.
func (pt pattern) expand() []string {
	out := []string{""}
	for _, part := range pt.parts {
		if part.spans == nil {
			out = appendAll(out, []string{part.lit})
			continue
		}
		var nums []string
		for _, s := range part.spans {
			for i := s.lo; i <= s.hi; i++ {
				nums = append(nums, fmt.Sprintf("%0*d", s.width, i))
			}
		}
		out = appendAll(out, nums)
	}
	return out
}

// appendAll returns every prefix followed by every suffix.
func appendAll(prefixes, suffixes []string) []string {
	out := make([]string, 0, len(prefixes)*len(suffixes))
	for _, p := range prefixes {
		for _, s := range suffixes {
			out = append(out, p+s)
		}
	}
	return out
}

// parseRange reads the inside of one bracket, "001-128" or "1-3,7", and
// counts its items.
func parseRange(body string) ([]span, int, error) {
	if body == "" {
		return nil, 0, fmt.Errorf("empty range []; write e.g. [1-4]")
	}
	var out []span
	n := 0
	for part := range strings.SplitSeq(body, ",") {
		loS, hiS, isRange := strings.Cut(part, "-")
		if !isRange {
			hiS = loS
		}
		lo, err1 := parseBound(loS)
		hi, err2 := parseBound(hiS)
		if err1 != nil || err2 != nil {
			return nil, 0, fmt.Errorf("bad range item %q; use numbers like 7 or 001-128", part)
		}
		if lo > hi {
			return nil, 0, fmt.Errorf("range %q runs backwards; write the lower bound first", part)
		}
		if hi-lo >= maxExpand || n+hi-lo+1 > maxExpand {
			return nil, 0, fmt.Errorf("range %q has more than %d items; split it", part, maxExpand)
		}
		width := 0
		if len(loS) > 1 && loS[0] == '0' {
			width = len(loS)
		}
		out = append(out, span{lo, hi, width})
		n += hi - lo + 1
	}
	return out, n, nil
}

func parseBound(s string) (int, error) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number")
	}
	return strconv.Atoi(s)
}

// substitute replaces {name} placeholders in t with vars[name]. Unknown
// placeholders and unclosed braces are errors that list the known names.
func substitute(t string, vars map[string]string) (string, error) {
	if !strings.ContainsAny(t, "{}") {
		return t, nil
	}
	var b strings.Builder
	for rest := t; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		if rest[i] == '}' {
			return "", fmt.Errorf("%q has a '}' without a '{'", t)
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%q has a '{' that is not closed", t)
		}
		name := rest[i+1 : i+j]
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("%q uses unknown placeholder {%s}; known here: %s", t, name, placeholderList(vars))
		}
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
	return b.String(), nil
}

func placeholderList(vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, "{"+k+"}")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
