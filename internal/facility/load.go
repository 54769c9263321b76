package facility

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// maxErrors bounds the problems reported for one file.
const maxErrors = 200

// Limits on the YAML itself, checked before the parser builds its syntax
// tree (see internal/yamlin's Limits; docs/facility.md#limits).
const (
	// maxFileSize bounds the size of a facility description; the
	// 100,000-node benchmark facility (see maxNodes) is 7 MB.
	maxFileSize = 16 << 20
	// maxMarks bounds the words and marks of a file, about the parser's
	// tokens: the 100,000-node benchmark facility has 1.1 million,
	// written with one node group per node 4 million.
	maxMarks = 5_000_000
	// maxDepth bounds nesting, as the other loaders do; a facility
	// file nests about 10 deep.
	maxDepth = yamlin.MaxDepth
	// maxKeys bounds the keys of one block mapping; a facility file's
	// have tens. At 1,000 keys the parser took twice as long as at 100.
	maxKeys = 256
)

// limits are the facility's limits on the YAML.
var limits = yamlin.Limits{Bytes: maxFileSize, Marks: maxMarks, Depth: maxDepth, Keys: maxKeys, Advice: "split it into several facilities"}

var topFields = []string{"name", "gpu_models", "sites", "tenants", "cohorts", "priority_classes", "data_classes", "policy"}

// LoadFile reads, validates and flattens the facility description at
// path. Validation problems come back as Errors; a file that cannot be
// read comes back as the wrapped IO error.
func LoadFile(path string) (*model.Facility, error) {
	data, err := limits.ReadFile(path)
	var tooBig yamlin.ErrorList
	switch {
	case errors.As(err, &tooBig):
		return nil, Errors{{File: path, Msg: tooBig[0].Msg}}
	case err != nil:
		return nil, fmt.Errorf("facility: %w", err)
	}
	return Load(path, data)
}

// Load parses, validates and flattens a facility description. name is
// the file name used in error messages. On failure it returns Errors
// holding every problem found, sorted by line.
func Load(name string, data []byte) (*model.Facility, error) {
	f, _, err := load(name, data)
	return f, err
}

// work is what one load spent. The limits keep each count in proportion
// to the file; the tests of hostile files assert on it.
type work struct {
	values int // mappings and list items decoded (see maxValues)
	named  int // node names made from ranges
	steps  int // steps of the checks that walk cohorts and sites
}

func load(name string, data []byte) (f *model.Facility, w work, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, Errors{{File: name, Msg: fmt.Sprintf("internal error while reading the file (%v); please report it with the file", r)}}
		}
	}()
	// a byte-order mark (Windows editors write one) is no part of the
	// first key
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if line, col, msg := yamlin.JSONSyntax(name, data); msg != "" {
		return nil, w, Errors{{File: name, Line: line, Msg: fmt.Sprintf("invalid JSON: column %d: %s", col, msg)}}
	}
	tokens, line, problem := limits.Tokens(data)
	if problem != "" {
		return nil, w, Errors{{File: name, Line: line, Msg: problem}}
	}
	file, perr := parser.Parse(tokens, 0)
	if perr != nil {
		return nil, w, Errors{syntaxError(name, perr)}
	}
	var bodies []ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.DirectiveNode); ok {
			continue // "%YAML 1.2" before "---" describes the document, is none
		}
		bodies = append(bodies, doc.Body)
	}
	switch {
	case len(bodies) == 0:
		return nil, w, Errors{{File: name, Msg: "empty facility description; start with name: and sites: (see docs/facility.md)"}}
	case len(bodies) > 1:
		return nil, w, Errors{{File: name, Line: lineOf(bodies[1]), Msg: "a facility file holds one YAML document; remove the second one (after ---)"}}
	}
	d := &decoder{file: name}
	d.collectAnchors(bodies[0])
	f = d.facility(bodies[0])
	if len(d.errs) > 0 {
		return nil, d.work, finish(name, d.errs, d.dropped)
	}
	return f, d.work, nil
}

func (d *decoder) facility(body ast.Node) *model.Facility {
	root := d.object(body, 1, "", topFields...)
	if root == nil {
		return nil
	}
	spec := &fileSpec{at: root}
	spec.name = root.ident("name", "name the facility, e.g. name: example")
	spec.gpuModels = d.gpuModels(root)
	before := len(d.errs)
	spec.sites = d.sites(root)
	sitesErrs := len(d.errs) - before
	spec.tenants = d.tenants(root)
	spec.cohorts = d.cohorts(root)
	spec.classes = d.classes(root)
	spec.dataClasses = d.dataClasses(root)
	spec.policy, spec.policyAt = d.policyOf(root)

	models := Catalog()
	for _, g := range spec.gpuModels {
		base, builtin := models[g.name]
		models[g.name] = d.applyGPUModel(g, base, builtin)
	}
	f := &model.Facility{Name: spec.name, GPUModels: models, Policy: spec.policy, PriorityClasses: defaultClasses()}
	if spec.classes != nil {
		f.PriorityClasses = nil
		for _, c := range spec.classes {
			f.PriorityClasses = append(f.PriorityClasses, c.class)
		}
	}
	for _, t := range spec.tenants {
		f.Tenants = append(f.Tenants, t.tenant)
	}
	for _, c := range spec.cohorts {
		f.Cohorts = append(f.Cohorts, c.cohort)
	}
	for _, c := range spec.dataClasses {
		if f.DataClasses == nil {
			f.DataClasses = map[string][]string{}
		}
		f.DataClasses[c.name] = c.tags
	}
	b := &builder{d: d, f: f, modelList: sync.OnceValue(func() string { return knownModels(models) })}
	before = len(d.errs)
	b.build(spec)
	b.checkNodes(models)
	b.equipmentBad = sitesErrs+len(d.errs)-before > 0
	b.check(spec, models)
	return f
}

// finish sorts the problems and bounds their number.
func finish(name string, errs Errors, dropped int) Errors {
	errs = sortErrors(errs)
	if len(errs) > maxErrors {
		dropped += len(errs) - maxErrors
		errs = errs[:maxErrors:maxErrors]
	}
	if dropped > 0 {
		errs = append(errs, &Error{File: name, Line: errs[len(errs)-1].Line, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", dropped)})
	}
	return errs
}

// yamlError is what the goccy parser's errors implement.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

func syntaxError(name string, err error) *Error {
	e := &Error{File: name, Msg: "YAML syntax error: " + clip(err.Error(), maxQuoted)}
	var ye yamlError
	if errors.As(err, &ye) {
		e.Msg = "YAML syntax error: " + clip(ye.GetMessage(), maxQuoted)
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line = tk.Position.Line
		}
	}
	return e
}
