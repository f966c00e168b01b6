package config

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's TAU_* table from the Config struct")

// The README's table sits between these markers; everything between them is generated.
const (
	readmeBegin = "<!-- BEGIN TAU_* table: generated from internal/config.Config by `go test ./internal/config -run TestREADMEConfigTable -update` -->\n"
	readmeEnd   = "<!-- END TAU_* table -->\n"
)

var readmePath = filepath.Join("..", "..", "README.md")

// TestREADMEConfigTable: the README's TAU_* table lists exactly the variables the server reads,
// with the defaults and meanings of the struct's tags (the same tags --help prints). With
// -update it rewrites the table instead.
func TestREADMEConfigTable(t *testing.T) {
	var gen bytes.Buffer
	if err := MarkdownTable(&gen); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	start, end := bytes.Index(readme, []byte(readmeBegin)), bytes.Index(readme, []byte(readmeEnd))
	if start < 0 || end < start {
		t.Fatalf("README.md: no TAU_* table between the markers\n%s%s", readmeBegin, readmeEnd)
	}
	table := readme[start+len(readmeBegin) : end]
	if *update {
		out := append(append(append([]byte{}, readme[:start+len(readmeBegin)]...), gen.Bytes()...), readme[end:]...)
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	want, have := parseTable(t, gen.String()), parseTable(t, string(table))
	var problems []string
	for _, v := range want.order {
		w := want.rows[v]
		h, ok := have.rows[v]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("README lacks %s (default %s), which the server reads", v, w.def))
		case h.def != w.def:
			problems = append(problems, fmt.Sprintf("%s: README default %s, the server's %s", v, h.def, w.def))
		case h.meaning != w.meaning:
			problems = append(problems, fmt.Sprintf("%s: README meaning %q, the struct's desc %q", v, h.meaning, w.meaning))
		}
	}
	for _, v := range have.order {
		if _, ok := want.rows[v]; !ok {
			problems = append(problems, fmt.Sprintf("README lists %s, which the server does not read", v))
		}
	}
	if len(problems) == 0 && string(table) != gen.String() {
		problems = append(problems, "the table's layout or order differs from the generated one")
	}
	if len(problems) > 0 {
		t.Errorf("README.md's TAU_* table is out of date with internal/config.Config:\n  %s\n"+
			"rewrite it with: go test ./internal/config -run TestREADMEConfigTable -update",
			strings.Join(problems, "\n  "))
	}
}

// TestUsageListsEveryVariable: --help has a row per variable of the generated table.
func TestUsageListsEveryVariable(t *testing.T) {
	var help, md bytes.Buffer
	if err := Usage(&help); err != nil {
		t.Fatal(err)
	}
	if err := MarkdownTable(&md); err != nil {
		t.Fatal(err)
	}
	vars := parseTable(t, md.String())
	if len(vars.order) == 0 {
		t.Fatal("no variables")
	}
	for _, v := range vars.order {
		if !regexp.MustCompile(`(?m)^` + v + `\s+\S+\s+\S+\s+\S`).MatchString(help.String()) {
			t.Errorf("--help has no row for %s:\n%s", v, help.String())
		}
	}
}

type configTable struct {
	order []string
	rows  map[string]configRow
}

type configRow struct{ def, meaning string }

var tableRow = regexp.MustCompile("^\\| `(TAU_[A-Z0-9_]+)` \\| (.*?) \\| (.*) \\|$")

// parseTable reads the rows of a TAU_* table: | `TAU_X` | `default` or — | meaning |.
func parseTable(t *testing.T, md string) configTable {
	t.Helper()
	tab := configTable{rows: map[string]configRow{}}
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| `TAU_") {
			continue
		}
		m := tableRow.FindStringSubmatch(line)
		if len(m) < 4 || strings.Contains(m[3], "|") {
			t.Errorf("malformed TAU_* table row (a desc tag must not hold \"|\"): %s", line)
			continue
		}
		if _, dup := tab.rows[m[1]]; dup {
			t.Errorf("%s appears twice in the table", m[1])
		}
		tab.order = append(tab.order, m[1])
		tab.rows[m[1]] = configRow{def: m[2], meaning: m[3]}
	}
	return tab
}
