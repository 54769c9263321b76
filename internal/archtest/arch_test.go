package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/carnot-dc/carnot"

// repoRoot walks up from the test's directory to the go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// packages maps each package directory (relative) to its parsed non-test files.
func packages(t *testing.T) map[string][]*ast.File {
	t.Helper()
	root := repoRoot(t)
	out := map[string][]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		out[filepath.ToSlash(rel)] = append(out[filepath.ToSlash(rel)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isCore(dir string) bool {
	return dir == "internal/model" || dir == "internal/sched" || strings.HasPrefix(dir, "internal/sched/")
}

// TestCoreImports: the core imports only the standard library (minus IO,
// network, databases, process state and global randomness) and the model.
func TestCoreImports(t *testing.T) {
	forbidden := []string{"os", "os/", "net", "net/", "database/", "io/ioutil", "syscall", "unsafe",
		"math/rand", "crypto/rand", "log", "log/", "runtime", "sync", "time/tzdata", "plugin", "os/exec"}
	n := 0
	for dir, files := range packages(t) {
		if !isCore(dir) {
			continue
		}
		n++
		for _, f := range files {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
					if !strings.HasPrefix(path, module+"/internal/model") && !strings.HasPrefix(path, module+"/internal/sched") {
						t.Errorf("%s imports %s: the core may import only the standard library, internal/model and its own subpackages", dir, path)
					}
					if dir == "internal/model" && strings.HasPrefix(path, module+"/") {
						t.Errorf("internal/model imports %s: the model imports nothing of Carnot", path)
					}
					continue
				}
				for _, bad := range forbidden {
					if path == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(path, bad)) || path == strings.TrimSuffix(bad, "/") {
						t.Errorf("%s imports %q, which the pure core must not use", dir, path)
					}
				}
			}
		}
	}
	if n < 4 {
		t.Fatalf("found only %d core packages; is the walk broken?", n)
	}
}

// TestCoreNoClock: no time.Now, time.Since, time.Sleep, timers or tickers
// in the core; time is an argument.
func TestCoreNoClock(t *testing.T) {
	banned := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true, "Local": true,
		"LoadLocation": true, "Timer": true, "Ticker": true}
	for dir, files := range packages(t) {
		if !isCore(dir) {
			continue
		}
		for _, f := range files {
			timeName := ""
			for _, imp := range f.Imports {
				if path, _ := strconv.Unquote(imp.Path.Value); path == "time" {
					timeName = "time"
					if imp.Name != nil {
						timeName = imp.Name.Name // an alias must not hide the clock
					}
				}
			}
			if timeName == "" {
				continue
			}
			if timeName == "_" || timeName == "." {
				t.Errorf("%s imports time as %q; import it plainly so the clock check can see its uses", dir, timeName)
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && banned[sel.Sel.Name] {
					t.Errorf("%s uses time.%s: the core takes now as an argument", dir, sel.Sel.Name)
				}
				return true
			})
		}
	}
}

// TestCoreNoGoroutines: the core starts no goroutines.
func TestCoreNoGoroutines(t *testing.T) {
	for dir, files := range packages(t) {
		if !isCore(dir) {
			continue
		}
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				if _, ok := n.(*ast.GoStmt); ok {
					t.Errorf("%s starts a goroutine; the core is single-threaded", dir)
				}
				return true
			})
		}
	}
}

// TestPackageDocs: every package has a doc comment.
func TestPackageDocs(t *testing.T) {
	for dir, files := range packages(t) {
		documented := false
		for _, f := range files {
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s has no doc comment; add one (a doc.go for core packages)", dir)
		}
	}
}
