package memlimit

import (
	"errors"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"
)

func TestApply(t *testing.T) {
	cases := []struct {
		name     string
		env      string // GOMEMLIMIT; "" leaves it unset
		provider memlimit.Provider
		want     int64
	}{
		{"container limit", "", memlimit.Limit(1 << 30), 966367641},
		{"no container limit", "", func() (uint64, error) { return 0, memlimit.ErrNoLimit }, -1},
		{"no cgroup", "", func() (uint64, error) { return 0, errors.New("no cgroup") }, -1},
		{"GOMEMLIMIT wins", "123MiB", memlimit.Limit(1 << 30), -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := debug.SetMemoryLimit(-1)
			t.Cleanup(func() { debug.SetMemoryLimit(before) })
			if c.env != "" {
				t.Setenv("GOMEMLIMIT", c.env)
			}
			want := c.want
			if want == -1 {
				want = before // left as the runtime had it
			}
			if got := apply(zap.NewNop(), c.provider); got != want || debug.SetMemoryLimit(-1) != want {
				t.Fatalf("apply = %d, runtime limit %d; want %d", got, debug.SetMemoryLimit(-1), want)
			}
		})
	}
}
