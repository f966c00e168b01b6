//go:build linux || darwin || freebsd

package diskspace

import "syscall"

func statfs(dir string) (Usage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Usage{}, err
	}
	bsize := u64(st.Bsize)
	return Usage{Size: u64(st.Blocks) * bsize, Available: u64(st.Bavail) * bsize}, nil
}

// u64 converts a Statfs_t field, whose integer type differs by platform (Bavail is signed on
// FreeBSD, Bsize 32 bits on Darwin); the kernel never reports them negative.
func u64[T ~int32 | ~int64 | ~uint32 | ~uint64](v T) uint64 { return uint64(v) }
