package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// These tests hold openapi.json to the code: every route of api.Routes
// and nothing else, every JSON field of every type of the package with a
// matching type, and the job spec as jobspec writes it.

type object = map[string]any

// goSchemas maps each schema of a type of this package to the type.
var goSchemas = map[string]reflect.Type{
	"Job":              reflect.TypeFor[api.Job](),
	"Reason":           reflect.TypeFor[api.Reason](),
	"Replica":          reflect.TypeFor[api.Replica](),
	"PastAttempt":      reflect.TypeFor[api.PastAttempt](),
	"PowerWait":        reflect.TypeFor[api.PowerWait](),
	"Claim":            reflect.TypeFor[api.Claim](),
	"Usage":            reflect.TypeFor[api.Usage](),
	"JobList":          reflect.TypeFor[api.JobList](),
	"Event":            reflect.TypeFor[api.Event](),
	"EventList":        reflect.TypeFor[api.EventList](),
	"Why":              reflect.TypeFor[api.Why](),
	"WhyGPUs":          reflect.TypeFor[api.WhyGPUs](),
	"WhyHolder":        reflect.TypeFor[api.WhyHolder](),
	"WhyOthers":        reflect.TypeFor[api.WhyOthers](),
	"CheckpointAck":    reflect.TypeFor[api.CheckpointAck](),
	"Node":             reflect.TypeFor[api.Node](),
	"NodeList":         reflect.TypeFor[api.NodeList](),
	"Site":             reflect.TypeFor[api.Site](),
	"SiteList":         reflect.TypeFor[api.SiteList](),
	"Tenant":           reflect.TypeFor[api.Tenant](),
	"TenantList":       reflect.TypeFor[api.TenantList](),
	"UsageList":        reflect.TypeFor[api.UsageList](),
	"AuditEntries":     reflect.TypeFor[api.AuditEntries](),
	"AuditEntry":       reflect.TypeFor[api.AuditEntry](),
	"AuditConsistency": reflect.TypeFor[api.AuditConsistency](),
	"TenantUsage":      reflect.TypeFor[api.TenantUsage](),
	"Plan":             reflect.TypeFor[api.Plan](),
	"PlanStart":        reflect.TypeFor[api.PlanStart](),
	"PlanPreempt":      reflect.TypeFor[api.PlanPreempt](),
	"PlanDefer":        reflect.TypeFor[api.PlanDefer](),
	"PlanPending":      reflect.TypeFor[api.PlanPending](),
	"PlanRecap":        reflect.TypeFor[api.PlanRecap](),
	"Register":         reflect.TypeFor[api.Register](),
	"GPUInfo":          reflect.TypeFor[api.GPUInfo](),
	"GPUDown":          reflect.TypeFor[api.GPUDown](),
	"Registered":       reflect.TypeFor[api.Registered](),
	"Heartbeat":        reflect.TypeFor[api.Heartbeat](),
	"TaskStatus":       reflect.TypeFor[api.TaskStatus](),
	"GPUSample":        reflect.TypeFor[api.GPUSample](),
	"HeartbeatReply":   reflect.TypeFor[api.HeartbeatReply](),
	"Assignments":      reflect.TypeFor[api.Assignments](),
	"Task":             reflect.TypeFor[api.Task](),
	"Problem":          reflect.TypeFor[api.Problem](),
	"FieldError":       reflect.TypeFor[api.FieldError](),
	"TokenRequest":     reflect.TypeFor[api.TokenRequest](),
	"Token":            reflect.TypeFor[api.Token](),
	"TokenList":        reflect.TypeFor[api.TokenList](),
	"WhoAmI":           reflect.TypeFor[api.WhoAmI](),
	"Enroll":           reflect.TypeFor[api.Enroll](),
	"Enrolled":         reflect.TypeFor[api.Enrolled](),
	"SecretValue":      reflect.TypeFor[api.SecretValue](),
	"Secret":           reflect.TypeFor[api.Secret](),
	"SecretList":       reflect.TypeFor[api.SecretList](),
	"ReenrollRequest":  reflect.TypeFor[api.ReenrollRequest](),
	"Reenroll":         reflect.TypeFor[api.Reenroll](),
}

// requestOnly are the schemas of request bodies only. Elsewhere every
// field Go always writes (no omitempty) is required; here required is
// what a client must send.
var requestOnly = map[string]bool{
	"Register": true, "GPUInfo": true, "Heartbeat": true, "TaskStatus": true, "CheckpointAck": true,
	"TokenRequest": true, "Enroll": true, "SecretValue": true, "ReenrollRequest": true,
}

// otherSchemas have no type in this package: the job file's form.
var otherSchemas = []string{"JobSpec", "Duration", "Timestamp"}

// undocumented are exported struct types of the package that are not
// part of the wire format.
var undocumented = []string{"Route"}

func loadDoc(t *testing.T) object {
	t.Helper()
	var d object
	if err := json.Unmarshal(api.OpenAPI, &d); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return d
}

// get walks keys down v; nil when one is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(object)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// lookup resolves a local JSON pointer such as "#/components/schemas/Job".
func lookup(d object, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var v any = d
	for _, k := range strings.Split(p, "/") {
		k = strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~")
		m, ok := v.(object)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// resolve follows $ref until it reaches an object without one.
func resolve(d object, v any) object {
	for range 10 {
		m, _ := v.(object)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v, _ = lookup(d, ref)
	}
	return nil
}

func TestOpenAPIDocument(t *testing.T) {
	d := loadDoc(t)
	if v, _ := d["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf(`openapi is %q, want "3.1.x"`, v)
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"info", "title"}, "Carnot API"},
		{[]string{"info", "license", "name"}, "Apache-2.0"},
		{[]string{"info", "license", "identifier"}, "Apache-2.0"},
	} {
		if got := get(d, c.path...); got != c.want {
			t.Errorf("%s is %v, want %q", strings.Join(c.path, "."), got, c.want)
		}
	}
	if v, _ := get(d, "info", "version").(string); v == "" {
		t.Error("info.version is missing")
	}

	// The file stays indented as json.Indent writes it (two spaces), so
	// that hand edits stay readable and diffs small.
	var compact, want bytes.Buffer
	if err := json.Compact(&compact, api.OpenAPI); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	want.WriteByte('\n')
	if !bytes.Equal(want.Bytes(), api.OpenAPI) {
		got, exp := strings.Split(string(api.OpenAPI), "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(got), len(exp)) {
			if got[i] != exp[i] {
				t.Fatalf("openapi.json:%d is not indented as json.Indent(…, \"\", \"  \") writes it:\n got: %q\nwant: %q", i+1, got[i], exp[i])
			}
		}
		t.Fatalf("openapi.json is not indented as json.Indent writes it (%d lines, want %d, ending with one newline)", len(got), len(exp))
	}
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

type opKey struct{ Method, Path, Op string }

func (k opKey) String() string { return fmt.Sprintf("%s %s (operationId %q)", k.Method, k.Path, k.Op) }

func TestOpenAPIRoutes(t *testing.T) {
	d := loadDoc(t)
	paths, _ := d["paths"].(object)
	inDoc := map[opKey]bool{}
	ids := map[string]opKey{}
	for path, item := range paths {
		for _, m := range methods {
			o, ok := get(item, m).(object)
			if !ok {
				continue
			}
			id, _ := o["operationId"].(string)
			k := opKey{strings.ToUpper(m), path, id}
			inDoc[k] = true
			if prev, dup := ids[id]; dup {
				t.Errorf("operationId %q is used twice: %v and %v", id, prev, k)
			}
			ids[id] = k
			checkOperation(t, d, k, item.(object), o)
		}
	}
	inCode := map[opKey]bool{}
	for _, r := range api.Routes {
		inCode[opKey{r.Method, r.Path, r.Op}] = true
	}
	var errs []string
	for k := range inCode {
		if !inDoc[k] {
			errs = append(errs, fmt.Sprintf("api.Routes has %v, but openapi.json does not document it", k))
		}
	}
	for k := range inDoc {
		if !inCode[k] {
			errs = append(errs, fmt.Sprintf("openapi.json documents %v, but api.Routes has no such route", k))
		}
	}
	sort.Strings(errs)
	for _, e := range errs {
		t.Error(e)
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// checkOperation checks an operation's path parameters and responses.
func checkOperation(t *testing.T, d object, k opKey, item, o object) {
	t.Helper()
	var want, got []string
	for _, m := range pathParam.FindAllStringSubmatch(k.Path, -1) {
		want = append(want, m[1])
	}
	params, _ := o["parameters"].([]any)
	shared, _ := item["parameters"].([]any)
	for _, p := range append(slices.Clone(shared), params...) {
		p := resolve(d, p)
		if p == nil {
			t.Errorf("%v: a parameter does not resolve", k)
			continue
		}
		if p["in"] == "path" {
			got = append(got, p["name"].(string))
			if p["required"] != true {
				t.Errorf("%v: path parameter %v must be required", k, p["name"])
			}
		}
		if p["schema"] == nil && p["content"] == nil {
			t.Errorf("%v: parameter %v has no schema", k, p["name"])
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("%v: path parameters %v, want %v (the path's {names})", k, got, want)
	}
	resps, _ := o["responses"].(object)
	ok2xx := false
	for code, r := range resps {
		r := resolve(d, r)
		if r == nil || r["description"] == nil {
			t.Errorf("%v: response %s does not resolve or has no description", k, code)
			continue
		}
		switch code[0] {
		case '2':
			ok2xx = true
		case '4', '5':
			if s := get(r, "content", "application/problem+json", "schema", "$ref"); s != "#/components/schemas/Problem" {
				t.Errorf("%v: response %s must be an application/problem+json Problem", k, code)
			}
		default:
			t.Errorf("%v: unexpected response code %s", k, code)
		}
	}
	if !ok2xx {
		t.Errorf("%v: no 2xx response", k)
	}
	if k.Method == "GET" && o["requestBody"] != nil {
		t.Errorf("%v: a GET has no request body", k)
	}
}

// jsonField is a field as encoding/json writes it.
type jsonField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

// jsonFields lists t's JSON fields: embedded structs flattened, "-"
// skipped, unexported fields ignored.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = append(out, jsonFields(ft)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, slices.Contains(strings.Split(opts, ","), "omitempty"), f.Type})
	}
	return out
}

// properties are a schema's properties, with those of its allOf parts.
func properties(d, s object) object {
	out := object{}
	own, _ := s["properties"].(object)
	for k, v := range own {
		out[k] = v
	}
	all, _ := s["allOf"].([]any)
	for _, part := range all {
		if p := resolve(d, part); p != nil && p["properties"] != nil {
			for k, v := range properties(d, p) {
				out[k] = v
			}
		}
	}
	return out
}

func TestOpenAPISchemas(t *testing.T) {
	d := loadDoc(t)
	schemas, _ := get(d, "components", "schemas").(object)
	nameOf := map[reflect.Type]string{}
	for name, typ := range goSchemas {
		nameOf[typ] = name
	}
	for name, typ := range goSchemas {
		s, ok := schemas[name].(object)
		if !ok {
			t.Errorf("components.schemas has no %s (type api.%s)", name, typ.Name())
			continue
		}
		if s["type"] != "object" {
			t.Errorf("schema %s: type %v, want object", name, s["type"])
		}
		props := properties(d, s)
		fields := map[string]jsonField{}
		for _, f := range jsonFields(typ) {
			fields[f.name] = f
			p, ok := props[f.name]
			if !ok {
				t.Errorf("schema %s lacks property %q (field of api.%s)", name, f.name, typ.Name())
				continue
			}
			if err := checkType(d, p, f.typ, !f.omitempty, nameOf); err != nil {
				t.Errorf("schema %s, property %q (Go %s): %v", name, f.name, f.typ, err)
			}
		}
		for p := range props {
			if _, ok := fields[p]; !ok {
				t.Errorf("schema %s has property %q, which api.%s has no JSON field for", name, p, typ.Name())
			}
		}
		req := map[string]bool{}
		for _, r := range asStrings(s["required"]) {
			req[r] = true
			if f, ok := fields[r]; ok && f.omitempty {
				t.Errorf("schema %s: %q is required, but api.%s omits it when empty", name, r, typ.Name())
			}
		}
		if !requestOnly[name] {
			for _, f := range jsonFields(typ) {
				if !f.omitempty && !req[f.name] {
					t.Errorf("schema %s: %q is always written (no omitempty) and should be required", name, f.name)
				}
			}
		}
	}
	for name := range schemas {
		if _, ok := goSchemas[name]; !ok && !slices.Contains(otherSchemas, name) {
			t.Errorf("schema %s has no Go type: add it to goSchemas or otherSchemas in this test", name)
		}
	}
	for _, name := range declaredStructs(t) {
		if _, ok := goSchemas[name]; !ok && !slices.Contains(undocumented, name) {
			t.Errorf("type api.%s has no schema in openapi.json (add it, and to goSchemas in this test)", name)
		}
	}
	// Every required list names properties of its schema, at any depth.
	walk(d, "#", func(at string, m object) {
		props, ok := m["properties"].(object)
		if !ok {
			return
		}
		for _, r := range asStrings(m["required"]) {
			if _, ok := props[r]; !ok {
				t.Errorf("%s: required %q is not a property", at, r)
			}
		}
	})
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// checkType checks that the schema s describes values of Go type typ as
// encoding/json writes them; null says that it may write null.
func checkType(d object, s any, typ reflect.Type, null bool, nameOf map[reflect.Type]string) error {
	if typ == rawType {
		return nil // any JSON; the schema says which
	}
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	} else if typ.Kind() != reflect.Slice && typ.Kind() != reflect.Map {
		null = false
	}
	m, ok := s.(object)
	if !ok {
		return fmt.Errorf("schema is not an object")
	}
	if ref, ok := m["$ref"].(string); ok {
		name, known := nameOf[typ]
		if !known || ref != "#/components/schemas/"+name {
			return fmt.Errorf("$ref %s, want the schema of %s", ref, typ)
		}
		if null {
			return fmt.Errorf("Go writes null here; a bare $ref does not allow it")
		}
		return nil
	}
	var want string
	switch {
	case typ == timeType:
		want = "string"
		if m["format"] != "date-time" {
			return fmt.Errorf("format %v, want date-time", m["format"])
		}
	case typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		want = "integer"
	case typ.Kind() == reflect.Float32 || typ.Kind() == reflect.Float64:
		want = "number"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	case typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array:
		want = "array"
		if err := checkType(d, m["items"], typ.Elem(), false, nameOf); err != nil {
			return fmt.Errorf("items: %w", err)
		}
	case typ.Kind() == reflect.Map:
		want = "object"
		if err := checkType(d, m["additionalProperties"], typ.Elem(), false, nameOf); err != nil {
			return fmt.Errorf("additionalProperties: %w", err)
		}
	case typ.Kind() == reflect.Struct:
		return fmt.Errorf("want a $ref to the schema of %s", typ)
	default:
		return nil
	}
	types := asStrings(m["type"])
	if s, ok := m["type"].(string); ok {
		types = []string{s}
	}
	if !slices.Contains(types, want) {
		return fmt.Errorf("type %v, want %s", m["type"], want)
	}
	switch {
	case null && !slices.Contains(types, "null"):
		return fmt.Errorf(`Go writes null for an empty value here (no omitempty): type must be [%q, "null"]`, want)
	case !null && slices.Contains(types, "null"):
		return fmt.Errorf("Go never writes null here: drop null from the type")
	}
	return nil
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseFiles parses the package's non-test files.
func parseFiles(t *testing.T) []*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// declaredStructs lists the exported struct types of the package's
// non-test files.
func declaredStructs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range parseFiles(t) {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				if _, isStruct := ts.Type.(*ast.StructType); isStruct && ts.Name.IsExported() {
					out = append(out, ts.Name.Name)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no struct types in the package's files")
	}
	return out
}

// TestOpenAPIEnums: the enums of the document list exactly the values of
// the package's constants (StatePending, …).
func TestOpenAPIEnums(t *testing.T) {
	d := loadDoc(t)
	consts := stringConsts(t)
	for _, c := range []struct{ prefix, schema, prop string }{
		{"State", "Job", "state"},
		{"Replica", "Replica", "state"},
		{"Event", "Event", "type"},
		{"Node", "Node", "condition"},
	} {
		var want []string
		for name, v := range consts {
			if strings.HasPrefix(name, c.prefix) {
				want = append(want, v)
			}
		}
		got := asStrings(get(d, "components", "schemas", c.schema, "properties", c.prop, "enum"))
		slices.Sort(want)
		slices.Sort(got)
		if len(want) == 0 || !slices.Equal(want, got) {
			t.Errorf("schema %s, property %s: enum %v, want the values of the %s* constants %v", c.schema, c.prop, got, c.prefix, want)
		}
	}
}

// stringConsts maps the package's string constants to their values.
func stringConsts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range parseFiles(t) {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out[name.Name] = v
					}
				}
			}
		}
	}
	return out
}

// walk calls fn on every object in v, with its JSON pointer.
func walk(v any, at string, fn func(at string, m object)) {
	switch v := v.(type) {
	case object:
		fn(at, v)
		for k, x := range v {
			walk(x, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), fn)
		}
	case []any:
		for i, x := range v {
			walk(x, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

func TestOpenAPIRefs(t *testing.T) {
	d := loadDoc(t)
	used := map[string]bool{}
	walk(d, "#", func(at string, m object) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		if _, ok := lookup(d, ref); !ok {
			t.Errorf("%s: $ref %q does not resolve", at, ref)
		}
		used[ref] = true
	})
	for _, kind := range []string{"schemas", "parameters", "responses", "headers", "requestBodies"} {
		comps, _ := get(d, "components", kind).(object)
		for name := range comps {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				t.Errorf("%s is never referenced: use it or delete it", ref)
			}
		}
	}
}

// TestOpenAPIJobSpec holds the JobSpec schema to the job file's JSON
// form: its properties are exactly the fields jobspec.Write writes for a
// job that sets every field, and its examples load.
func TestOpenAPIJobSpec(t *testing.T) {
	d := loadDoc(t)
	j := &model.Job{
		ID: "a", Kind: model.KindDeployment, Tenant: "t", PriorityClass: "p",
		Replicas: 2, MinReplicas: 1, GPUsPerReplica: 1, GPUModels: []string{"H100"},
		CPUsPerReplica: 1, MemGiBPerReplica: 1, Preemptible: true,
		CheckpointGrace: 1, RuntimeLimit: 1, Jurisdictions: []string{"EU"}, DataClass: "x",
		EarliestStart: 1, Deadline: 2, Topology: model.Topology{Level: model.LevelNode, Required: true},
		ExclusiveNode: true, SubmitTime: 1, SubmitOrder: 1, Command: []string{"x"},
		Env: map[string]string{"A": "b"}, WorkDir: "/w",
		Restart: model.RestartPolicy{OnFailure: true, MaxRetries: 1}, DependsOn: []model.Dependency{{Job: "b", Type: model.AfterAny}},
	}
	v := reflect.ValueOf(j).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("set model.Job.%s in this test, so that jobspec.Write writes it", v.Type().Field(i).Name)
		}
	}
	var buf bytes.Buffer
	if err := jobspec.Write(&buf, []*model.Job{j}); err != nil {
		t.Fatal(err)
	}
	var written object
	if err := json.Unmarshal(buf.Bytes(), &written); err != nil {
		t.Fatal(err)
	}
	props, _ := get(d, "components", "schemas", "JobSpec", "properties").(object)
	for k := range written {
		if _, ok := props[k]; !ok {
			t.Errorf("jobspec.Write writes %q, but the JobSpec schema lacks it", k)
		}
	}
	for k := range props {
		if _, ok := written[k]; !ok {
			t.Errorf("the JobSpec schema has %q, which jobspec.Write never writes", k)
		}
	}
	examples, _ := get(d, "components", "schemas", "JobSpec", "examples").([]any)
	if len(examples) == 0 {
		t.Error("the JobSpec schema has no examples")
	}
	for i, ex := range examples {
		b, err := json.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jobspec.Load("example.json", b, nil); err != nil {
			t.Errorf("JobSpec example %d does not load: %v", i, err)
		}
	}
}
