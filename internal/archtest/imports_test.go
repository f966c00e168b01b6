package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/taudb/tau/"

// pkgInfo is what `go list -json` says of one package.
type pkgInfo struct {
	ImportPath string
	Imports    []string // the packages it imports itself (not its tests)
	Deps       []string // every package it imports, directly or not (not its tests)
}

func listPackages(t *testing.T) map[string]pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]pkgInfo{}
	dec := json.NewDecoder(out)
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// rules: packages matching a prefix may not depend, even indirectly (or, for direct rules, in
// their own imports), on any of the forbidden prefixes. A prefix "x" matches "x" and "x/…".
var rules = []struct {
	name      string
	packages  []string
	forbidden []string
	direct    bool
}{
	{"the wire package depends on nothing of ours", []string{"pkg/protocol"},
		[]string{"internal", "pkg/client", "cmd"}, false},
	{"the engine knows nothing of the wire or its front ends",
		[]string{"internal/engine", "internal/actor", "internal/catalog", "internal/query", "internal/storage", "internal/series", "internal/lens"},
		[]string{"pkg/protocol", "pkg/client", "internal/server", "internal/auth", "internal/config", "internal/certwatch", "internal/tlsconfig"}, false},
	{"only the TAU front end speaks the wire: auth, config, certwatch, tlsconfig and filewatch do not",
		[]string{"internal/auth", "internal/config", "internal/certwatch", "internal/tlsconfig", "internal/filewatch"},
		[]string{"pkg/protocol", "internal/server"}, false},
	{"the client needs only the wire", []string{"pkg/client"},
		[]string{"internal"}, false},
	{"the Raft replica knows commands as bytes, not the engine or a front end",
		[]string{"internal/cluster"},
		[]string{"internal/engine", "internal/actor", "internal/catalog", "internal/server", "internal/replica", "pkg/protocol"}, false},
	{"the log knows records, not series, chunks or checkpoints",
		[]string{"internal/storage/wal"},
		[]string{"internal/storage/chunkenc", "internal/storage/chunkfile", "internal/engine", "internal/actor", "internal/catalog", "internal/query", "internal/lens"}, false},
	{"the formats' common ground depends on nothing of the store's",
		[]string{"internal/storage/diskfmt"},
		[]string{"internal/storage/wal", "internal/storage/chunkenc", "internal/storage/chunkfile"}, false},
	{"front ends reach the engine only through its API",
		[]string{"internal/server"},
		[]string{"internal/actor", "internal/catalog", "internal/query", "internal/storage", "internal/lens"}, true},
	{"the peer transport carries Raft messages and knows nothing of what they replicate",
		[]string{"internal/cluster/transport"},
		[]string{"internal/engine", "internal/actor", "internal/catalog", "internal/query", "internal/storage",
			"internal/series", "internal/lens", "internal/server", "pkg/protocol", "pkg/client", "cmd"}, false},
}

func matches(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for path, p := range pkgs {
				if !matchesAny(path, r.packages) || exempt(path) {
					continue
				}
				checked++
				deps := p.Deps
				if r.direct {
					deps = p.Imports
				}
				for _, dep := range deps {
					dep, ours := strings.CutPrefix(dep, module)
					if ours && matchesAny(dep, r.forbidden) {
						t.Errorf("%s depends on %s", path, dep)
					}
				}
			}
			if checked == 0 {
				t.Fatalf("no package matches %v: the rule checks nothing", r.packages)
			}
		})
	}
}

// exempt packages are test helpers that fake a front end on purpose.
func exempt(path string) bool { return path == "pkg/client/clienttest" }

func matchesAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if matches(path, p) {
			return true
		}
	}
	return false
}

// TestRulesCanFail proves the check sees real dependencies: the server does depend on the
// engine and the wire, so a rule forbidding them would fail.
func TestRulesCanFail(t *testing.T) {
	p := listPackages(t)["internal/server"]
	var engine, wire bool
	for _, dep := range p.Deps {
		engine = engine || dep == module+"internal/engine"
		wire = wire || dep == module+"pkg/protocol"
	}
	if !engine || !wire {
		t.Fatalf("internal/server's dependencies look wrong: engine %v, wire %v", engine, wire)
	}
}
