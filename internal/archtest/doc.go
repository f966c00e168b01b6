// Package archtest holds tests of the module's structure; it has no code of its own.
package archtest
