package facility

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/parser"

	"github.com/carnot-dc/carnot/internal/model"
)

// OverridePolicy applies settings of the form key=value (the keys and
// values of a facility file's policy: section, e.g. "backfill=false",
// "order=shortest-first", "fair_share_half_life=3d") to base, the way the
// facility loader applies them to the default policy, with the same
// checks. Errors name the setting as flag:N, N counting from 1.
func OverridePolicy(base model.Policy, flag string, settings []string) (model.Policy, error) {
	if len(settings) == 0 {
		return base, nil
	}
	var b strings.Builder
	b.WriteString("policy:\n")
	var errs Errors
	for i, s := range settings {
		k, v, ok := strings.Cut(s, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(s, "\n\r") || strings.ContainsAny(k, " :#") {
			errs = append(errs, &Error{File: flag, Line: i + 1, Msg: fmt.Sprintf("%q: want key=value, e.g. backfill=false (keys as in the facility's policy: section)", s)})
			continue
		}
		fmt.Fprintf(&b, "  %s: %s\n", k, v)
	}
	if len(errs) > 0 {
		return base, errs
	}
	file, err := parser.ParseBytes([]byte(b.String()), 0)
	if err != nil || len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return base, Errors{{File: flag, Msg: fmt.Sprintf("settings %q do not read as key=value pairs", settings)}}
	}
	d := &decoder{file: flag}
	root := d.object(file.Docs[0].Body, 1, "", "policy")
	if root == nil {
		return base, finish(flag, d.errs, d.dropped)
	}
	o := root.child("policy", policyFields...)
	p := base
	if o != nil {
		p = applyPolicy(base, o)
	}
	if len(d.errs) > 0 {
		for _, e := range d.errs {
			e.Line-- // line 1 is "policy:"
		}
		return base, finish(flag, d.errs, d.dropped)
	}
	return p, nil
}
