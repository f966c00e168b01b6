package series

import "testing"

func TestLabel(t *testing.T) {
	cases := []struct {
		name string
		l    Label
		want string
	}{
		{"padded name", LabelFromString("cpu.load"), "cpu.load"},
		{"empty", Label{}, ""},
		{"control byte", Label{0x01}, "0x01" + zeros(31)},
		{"too long is cut", LabelFromString("0123456789012345678901234567890123"), "01234567890123456789012345678901"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.l.String(); got != c.want {
				t.Fatalf("String() = %q, want %q", got, c.want)
			}
		})
	}
	if Compare(LabelFromString("a"), LabelFromString("b")) >= 0 || Compare(Label{}, Label{}) != 0 {
		t.Fatal("Compare is not byte-wise")
	}
}

func zeros(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		s += "00"
	}
	return s
}
