package scenario

import (
	"errors"
	"strings"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// setting is one policy override as written: a key of the facility
// file's policy section and its value in YAML flow form.
type setting struct {
	Key, Value string
	Line       int
}

func (s setting) String() string { return s.Key + "=" + s.Value }

// policy reads a policy variant: a mapping of policy keys (those of a
// facility file's policy: section, docs/facility.md) to values. They are
// checked here, each on its own line and then together, by the facility
// loader's own rules (facility.OverridePolicy).
func (d *decoder) policy(name string, line int, v *yamlin.Node) PolicyVariant {
	pv := PolicyVariant{Name: name, Line: line}
	path := "policies." + name
	if v.Kind == yamlin.KindNull {
		return pv // {} or nothing: the facility's own policy
	}
	if v.Kind != yamlin.KindMap {
		d.c.Add(v.Line, path, "must be a mapping of policy settings, e.g. {backfill: false} (got %s)", v.Describe())
		return pv
	}
	d.c.Entries(v, path, func(e yamlin.Entry) {
		s := setting{Key: e.Key, Value: flow(e.Val), Line: e.Line}
		if _, err := facility.OverridePolicy(model.DefaultPolicy(), "", []string{s.String()}); err != nil {
			d.c.Add(e.Line, path+"."+policyField(err, e.Key), "%s", policyMessage(err, false))
			return
		}
		pv.Set = append(pv.Set, s)
	})
	if len(pv.Set) == len(v.Entries) { // every setting fine alone, none repeated
		if _, err := facility.OverridePolicy(model.DefaultPolicy(), "", pv.settings()); err != nil {
			seen := make(map[string]int, len(pv.Set))
			for _, s := range pv.Set {
				seen[s.Key] = s.Line
			}
			d.together(err, path, line, seen)
		}
	}
	return pv
}

// together records the errors of settings that are fine alone but not
// together, each at the setting it names (its line and field), or at the
// variant when it names none of them.
func (d *decoder) together(err error, path string, line int, seen map[string]int) {
	var list facility.Errors
	if !errors.As(err, &list) || len(list) == 0 {
		d.c.Add(line, path, "%s", err.Error())
		return
	}
	for _, e := range list {
		f, _ := strings.CutPrefix(e.Field, "policy.")
		key, _, _ := strings.Cut(f, ".")
		if at, ok := seen[key]; ok && f != "" {
			d.c.Add(at, path+"."+f, "%s", e.Msg)
		} else {
			d.c.Add(line, path, "%s", e.Msg)
		}
	}
}

// settings is the variant as OverridePolicy takes it.
func (pv PolicyVariant) settings() []string {
	out := make([]string, len(pv.Set))
	for i, s := range pv.Set {
		out[i] = s.String()
	}
	return out
}

// apply returns base with the variant's settings, applied as a facility
// file's policy section is (turning power off turns capping off, and
// preemption off turns reclaim off).
func (pv PolicyVariant) apply(base model.Policy) (model.Policy, error) {
	return facility.OverridePolicy(base, "policies."+pv.Name, pv.settings())
}

// policyMessage is the facility loader's message without its position
// (the caller puts its own file, line and field in front); withField
// keeps the setting the message is about.
func policyMessage(err error, withField bool) string {
	var list facility.Errors
	if !errors.As(err, &list) || len(list) == 0 {
		return err.Error()
	}
	msgs := make([]string, len(list))
	for i, e := range list {
		msgs[i] = e.Msg
		if withField && e.Field != "" && e.Field != "policy" {
			msgs[i] = strings.TrimPrefix(e.Field, "policy.") + ": " + e.Msg
		}
	}
	return strings.Join(msgs, "; ")
}

// policyField is the setting an error of the facility loader is about,
// below "policy.": the key, or the sub-field of it the error names (such
// as preemption_rate_limit.max).
func policyField(err error, key string) string {
	var list facility.Errors
	if errors.As(err, &list) && len(list) > 0 {
		if f, ok := strings.CutPrefix(list[0].Field, "policy."); ok && strings.HasPrefix(f, key+".") {
			return f
		}
	}
	return key
}

// flow writes a value back as YAML flow text: scalars as written,
// strings quoted where YAML would read them otherwise, mappings and
// lists in braces and brackets.
func flow(n *yamlin.Node) string {
	switch n.Kind {
	case yamlin.KindMap:
		parts := make([]string, len(n.Entries))
		for i, e := range n.Entries {
			parts[i] = e.Key + ": " + flow(e.Val)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case yamlin.KindSeq:
		parts := make([]string, len(n.Items))
		for i, it := range n.Items {
			parts[i] = flow(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yamlin.KindNull:
		return "null"
	case yamlin.KindString:
		if n.Text == "" || strings.ContainsAny(n.Text, ":#{}[],&*!|>'\"%@`\n\r") {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`).Replace(n.Text) + `"`
		}
	}
	return n.Text
}
