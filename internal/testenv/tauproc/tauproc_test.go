package tauproc

import (
	"net"
	"testing"
)

func TestLogBufferFindsAddressesAcrossWrites(t *testing.T) {
	l := newLogBuffer()
	line := `{"level":"info","msg":"listening","tau_address":"127.0.0.1:4001","http_address":"127.0.0.1:4002"}` + "\n"
	for _, part := range []string{`{"level":"info","msg":"starting tau-server"}` + "\nnot json\n", line[:17], line[17:60], line[60:], "after\n"} {
		if _, err := l.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case a := <-l.addrs:
		if a != [2]string{"127.0.0.1:4001", "127.0.0.1:4002"} {
			t.Fatalf("addresses %v", a)
		}
	default:
		t.Fatal("addresses not found")
	}
	if got := l.String(); got[len(got)-6:] != "after\n" {
		t.Fatalf("log not kept whole: %q", got)
	}
}

// TestTwoServersPickTheirOwnPorts starts two binaries at once on port 0: each reports its own
// addresses, and each answers on them.
func TestTwoServersPickTheirOwnPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	a, b := Start(t, Options{}), Start(t, Options{})
	if a.Addr == b.Addr || a.HTTPAddr == b.HTTPAddr {
		t.Fatalf("same addresses: %s %s and %s %s", a.Addr, a.HTTPAddr, b.Addr, b.HTTPAddr)
	}
	for _, p := range []*Process{a, b} {
		nc, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.Close()
		if code := p.Stop(UntilHang); code != 0 {
			t.Fatalf("exit %d; log:\n%s", code, p.Log())
		}
	}
}
