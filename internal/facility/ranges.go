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
	out := []string{""}
	for rest := p; rest != ""; {
		open := strings.IndexAny(rest, "[]")
		if open < 0 {
			out = appendAll(out, []string{rest})
			break
		}
		if rest[open] == ']' {
			return nil, fmt.Errorf("%q has a ']' without a '['; write ranges as name[1-4] or name[1,3,5-7]", p)
		}
		closing := strings.IndexAny(rest[open+1:], "[]")
		if closing < 0 || rest[open+1+closing] == '[' {
			return nil, fmt.Errorf("%q has a '[' that is not closed; write ranges as name[1-4] or name[1,3,5-7]", p)
		}
		body := rest[open+1 : open+1+closing]
		nums, err := expandRange(body)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", p, err)
		}
		if len(out)*len(nums) > maxExpand {
			return nil, fmt.Errorf("%q expands to more than %d names; split it into smaller groups", p, maxExpand)
		}
		out = appendAll(out, []string{rest[:open]})
		out = appendAll(out, nums)
		rest = rest[open+1+closing+1:]
	}
	return out, nil
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

// expandRange expands the inside of one bracket: "001-128" or "1-3,7".
func expandRange(body string) ([]string, error) {
	if body == "" {
		return nil, fmt.Errorf("empty range []; write e.g. [1-4]")
	}
	var out []string
	for part := range strings.SplitSeq(body, ",") {
		loS, hiS, isRange := strings.Cut(part, "-")
		if !isRange {
			hiS = loS
		}
		lo, err1 := parseBound(loS)
		hi, err2 := parseBound(hiS)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad range item %q; use numbers like 7 or 001-128", part)
		}
		if lo > hi {
			return nil, fmt.Errorf("range %q runs backwards; write the lower bound first", part)
		}
		if hi-lo >= maxExpand || len(out)+hi-lo+1 > maxExpand {
			return nil, fmt.Errorf("range %q has more than %d items; split it", part, maxExpand)
		}
		width := 0
		if len(loS) > 1 && loS[0] == '0' {
			width = len(loS)
		}
		for i := lo; i <= hi; i++ {
			out = append(out, fmt.Sprintf("%0*d", width, i))
		}
	}
	return out, nil
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
