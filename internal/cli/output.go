package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

// Output formats of the commands that print server objects.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

// addOutputFlag adds -o/--output table|json|yaml.
func addOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", outTable, "output format: table, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{outTable, outJSON, outYAML}, cobra.ShellCompDirectiveNoFileComp))
}

// checkOutput rejects an unknown -o before anything is sent.
func checkOutput(f string) error {
	switch f {
	case outTable, outJSON, outYAML:
		return nil
	}
	return usageError{fmt.Errorf("--output %q: want table, json or yaml", f)}
}

// printObject writes v as indented JSON or as YAML. YAML is made from the
// JSON so that both show the API's field names, in the same order.
func printObject(w io.Writer, format string, v any) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := b.String()
	if format == outYAML {
		y, err := yaml.JSONToYAML([]byte(out))
		if err != nil {
			return err
		}
		out = string(y)
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
	}
	_, err := io.WriteString(w, out)
	return err
}

// newTable returns a writer that aligns tab-separated columns; Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// ago says how long before now t was, e.g. "3m ago"; "-" for the zero
// time and "in 5m" for a time to come.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := now.Sub(t); d >= 0 {
		return human(d) + " ago"
	}
	return "in " + human(t.Sub(now))
}

// age is the time since t, e.g. "3m"; "-" for the zero time.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return human(max(now.Sub(t), 0))
}

// human writes a duration the short way people read it: 45s, 12m, 5h3m,
// 3d4h.
func human(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + "m"
	case s < 48*3600:
		h, m := s/3600, s%3600/60
		if m == 0 {
			return strconv.FormatInt(h, 10) + "h"
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	dd, h := s/86400, s%86400/3600
	if h == 0 {
		return strconv.FormatInt(dd, 10) + "d"
	}
	return fmt.Sprintf("%dd%dh", dd, h)
}

// clock formats a time for detailed output: RFC 3339 in UTC with how long
// ago it was.
func clock(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339) + " (" + ago(now, *t) + ")"
}

// visible writes the control characters of s, text the server passes on
// from tenants and processes, as Go escapes (\x1b, \r, \u009b), a tab
// or a newline as a space: printed raw, an escape sequence would drive
// the reader's terminal (recolor, retitle, rewrite what it shows).
func visible(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n':
			b.WriteByte(' ')
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// trunc cuts s to n characters on one line, marking the cut with "…",
// its control characters made visible.
func trunc(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " …"
	}
	s = visible(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// num formats a float with at most prec decimals, without trailing
// zeros.
func num(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
