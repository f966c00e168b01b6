// Package version says which build is running: its version, VCS revision, Go version and build
// date, for `tau-server --version`, `tau version` and the tau_build_info metric.
//
// Release builds stamp the first three with the linker (make build, the Dockerfile):
//
//	go build -ldflags "-X github.com/taudb/tau/internal/version.version=v0.2.0 \
//	  -X github.com/taudb/tau/internal/version.revision=<commit> \
//	  -X github.com/taudb/tau/internal/version.buildDate=2026-12-07T22:00:00Z"
//
// A build that was not stamped (go build, go install, go run) falls back to what the Go
// toolchain recorded in the binary: the module version and the vcs.revision of the checkout.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by -ldflags -X at link time and never written afterwards; empty when not stamped.
var (
	version   string
	revision  string
	buildDate string
)

// Placeholders for what neither the stamp nor the toolchain knows.
const (
	Devel   = "devel"
	Unknown = "unknown"
)

// Info describes one build.
type Info struct {
	Version   string // git describe of the source, e.g. v0.2.0 or v0.2.0-3-gabc1234-dirty; "devel" unstamped
	Revision  string // the full commit hash, with "-dirty" for uncommitted changes; "unknown" without VCS
	GoVersion string // the Go toolchain that built it
	BuildDate string // RFC 3339, UTC; "unknown" unstamped
}

// Get is this binary's build.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(stamp{version, revision, buildDate}, bi)
}

// stamp is what the linker was given.
type stamp struct{ version, revision, buildDate string }

// resolve prefers the stamp, field by field, then the toolchain's build info (nil when the
// binary has none), then the placeholders.
func resolve(s stamp, bi *debug.BuildInfo) Info {
	info := Info{Version: s.version, Revision: s.revision, GoVersion: runtime.Version(), BuildDate: s.buildDate}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		fromBuildInfo(&info, bi)
	}
	if info.Version == "" {
		info.Version = Devel
	}
	if info.Revision == "" {
		info.Revision = Unknown
	}
	if info.BuildDate == "" {
		info.BuildDate = Unknown
	}
	return info
}

// fromBuildInfo fills the fields the stamp left empty. The module version is "(devel)" for a
// build inside the checkout, which says nothing; `go install module@v0.2.0` records v0.2.0.
// The commit time is not a build date, so the date stays unknown.
func fromBuildInfo(info *Info, bi *debug.BuildInfo) {
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Revision != "" {
		return
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if info.Revision != "" && modified {
		info.Revision += "-dirty"
	}
}

// String is the line --version prints, after the program's name.
func (i Info) String() string {
	return fmt.Sprintf("%s (revision %s, %s, built %s)", i.Version, i.Revision, i.GoVersion, i.BuildDate)
}
