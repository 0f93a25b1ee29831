package ptzone_test

import (
	"go/ast"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocsLiveInDocGo: a package says what it owns in one place,
// its doc.go, so the comment is found without knowing the package and is
// not lost when the file that happened to carry it is split or removed.
func TestPackageDocsLiveInDocGo(t *testing.T) {
	type pkgFiles struct {
		nonTest bool
		name    string
		docs    map[string]string // file name -> its package comment
	}
	pkgs := map[string]*pkgFiles{}
	eachGoFile(t, func(dir, path string, f *ast.File) {
		p := pkgs[dir]
		if p == nil {
			p = &pkgFiles{docs: map[string]string{}}
			pkgs[dir] = p
		}
		if !strings.HasSuffix(path, "_test.go") {
			p.nonTest = true
			p.name = f.Name.Name
		}
		if doc := docText(f); doc != "" {
			p.docs[filepath.Base(path)] = doc
		}
	})
	if len(pkgs) < 5 {
		t.Fatalf("found only %d package directories: is the test running at the module root?", len(pkgs))
	}
	for dir, p := range pkgs {
		if dir == "" {
			dir = "."
		}
		for file := range p.docs {
			if file != "doc.go" {
				t.Errorf("%s/%s carries a package comment: move it into %s/doc.go", dir, file, dir)
			}
		}
		if !p.nonTest {
			continue
		}
		doc, ok := p.docs["doc.go"]
		if !ok {
			t.Errorf("%s has no doc.go carrying its package comment (what the package owns)", dir)
			continue
		}
		want := "Package " + p.name + " "
		if p.name == "main" {
			want = "Command " + filepath.Base(dir) + " "
		}
		if !strings.HasPrefix(doc, want) {
			t.Errorf("%s/doc.go: the package comment should begin %q, got %q", dir, want, firstLine(doc))
		}
	}
}

func docText(f *ast.File) string {
	if f.Doc == nil {
		return ""
	}
	return strings.TrimSpace(f.Doc.Text())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
