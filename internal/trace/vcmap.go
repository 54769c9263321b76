package trace

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Columns of a VC map file.
const (
	ColMapVC     = "vc"
	ColMapTenant = "tenant"
)

// MapEntry sends the jobs of one virtual cluster to one tenant of a
// facility. File, Line and Column say where it was given, for errors:
// a VC map file's row (ReadVCMap), or a flag (ParseMapFlag: File is the
// flag as typed, Line 0).
type MapEntry struct {
	VC, Tenant   string
	File         string
	Line, Column int // of the tenant value; 0 when given by a flag
}

// at is an Error about the entry's tenant.
func (e MapEntry) at(format string, args ...any) *Error {
	field := ""
	if e.Line > 0 {
		field = ColMapTenant
	}
	return &Error{File: e.File, Line: e.Line, Column: e.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// where names the entry in a message: "vcmap.csv:3" or the flag.
func (e MapEntry) where() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return e.File
}

// LoadVCMap reads a VC map file; see ReadVCMap.
func LoadVCMap(path string) ([]MapEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadVCMap(path, f)
}

// ReadVCMap reads a VC map: a CSV with the header "vc,tenant" (other
// columns are ignored) and one row per virtual cluster, naming the
// tenant of a facility that runs its jobs; name is used in errors. Lines
// starting with '#' are comments, and blank lines are skipped. Each VC
// appears once, and both values are names of the facility format
// (letters, digits, '.', '_', '-'); whether the tenant is in a facility
// is checked by OntoFacility. Problems come back as an Errors list, each
// with its line, column and field. A file with no rows is an error too.
func ReadVCMap(name string, r io.Reader) ([]MapEntry, error) {
	c := &collector{file: name}
	t, ok := openTableComments(r, c, []string{ColMapVC, ColMapTenant}, '#')
	if !ok {
		return nil, c.err()
	}
	var out []MapEntry
	seen := map[string]int{} // line of each VC
	for {
		rec, line, ok := t.next()
		if !ok {
			break
		}
		vc, tenant := strings.TrimSpace(rec[t.col[ColMapVC]]), strings.TrimSpace(rec[t.col[ColMapTenant]])
		good := true
		vl, vcol := t.pos(ColMapVC)
		switch first, dup := seen[vc]; {
		case !validIdent(vc):
			c.add(vl, vcol, ColMapVC, "%q is not a virtual-cluster id; %s", short(vc), identHint)
			good = false
		case dup:
			c.add(vl, vcol, ColMapVC, "VC %s is already mapped on line %d; keep one row per VC", vc, first)
			good = false
		default:
			seen[vc] = line
		}
		tl, tcol := t.pos(ColMapTenant)
		if !validIdent(tenant) {
			c.add(tl, tcol, ColMapTenant, "%q is not a tenant name; %s", short(tenant), identHint)
			good = false
		}
		if good {
			out = append(out, MapEntry{VC: vc, Tenant: tenant, File: name, Line: tl, Column: tcol})
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, Errors{{File: name, Line: 1, Msg: "no VCs; add one row per VC after the header, e.g. 6214e9,lab-a"}}
	}
	return out, nil
}

// ParseMapFlag reads one VC=TENANT mapping given on the command line by
// flag (e.g. "--map"); errors name the flag and the value as typed.
func ParseMapFlag(flag, s string) (MapEntry, error) {
	vc, tenant, ok := strings.Cut(s, "=")
	vc, tenant = strings.TrimSpace(vc), strings.TrimSpace(tenant)
	where := flag + " " + s
	switch {
	case !ok:
		return MapEntry{}, fmt.Errorf("%s: want VC=TENANT, e.g. %s 6214e9=lab-a", where, flag)
	case !validIdent(vc):
		return MapEntry{}, fmt.Errorf("%s: %q is not a virtual-cluster id; %s", where, short(vc), identHint)
	case !validIdent(tenant):
		return MapEntry{}, fmt.Errorf("%s: %q is not a tenant name; %s", where, short(tenant), identHint)
	}
	return MapEntry{VC: vc, Tenant: tenant, File: where}, nil
}
