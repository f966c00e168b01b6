package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified},
				{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}}}
	}
	cases := []struct {
		name  string
		stamp stamp
		bi    *debug.BuildInfo
		want  Info
	}{
		{"stamped", stamp{"v0.2.0", "abc123", "2026-12-07T22:00:00Z"}, vcs("fff", "true"),
			Info{"v0.2.0", "abc123", "go1.99", "2026-12-07T22:00:00Z"}},
		{"unstamped clean checkout", stamp{}, vcs("abc123", "false"),
			Info{Devel, "abc123", "go1.99", Unknown}},
		{"unstamped with local changes", stamp{}, vcs("abc123", "true"),
			Info{Devel, "abc123-dirty", "go1.99", Unknown}},
		{"go install module@version", stamp{}, &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v0.3.1"}},
			Info{"v0.3.1", Unknown, "go1.99", Unknown}},
		{"stamped version only", stamp{version: "v0.2.0"}, vcs("abc123", "false"),
			Info{"v0.2.0", "abc123", "go1.99", Unknown}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.stamp, tc.bi); got != tc.want {
				t.Fatalf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolveWithoutBuildInfo(t *testing.T) {
	got := resolve(stamp{}, nil)
	if got.Version != Devel || got.Revision != Unknown || got.BuildDate != Unknown || got.GoVersion == "" {
		t.Fatalf("resolve(no build info) = %+v", got)
	}
}

func TestString(t *testing.T) {
	got := Info{"v0.2.0", "abc123", "go1.99", "2026-12-07T22:00:00Z"}.String()
	want := "v0.2.0 (revision abc123, go1.99, built 2026-12-07T22:00:00Z)"
	if got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}
