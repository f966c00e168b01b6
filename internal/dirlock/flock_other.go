//go:build !unix

package dirlock

import "os"

func tryLock(*os.File) (bool, error) { return false, ErrUnsupported }
