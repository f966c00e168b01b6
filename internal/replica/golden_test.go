package replica

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/testenv/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from today's encoders")

// goldenCommands are the content of testdata/commands-v1.golden, one of each op, each written
// as u32 length | command. Raft entries hold them on disk: never change them.
func goldenCommands() []command {
	return []command{
		{op: opCreate, label: lbl("cpu.load")},
		{op: opDrop, label: lbl("\x00\xff\r\n")},
		{op: opAppend, label: lbl("cpu.load"), ts: -1, bits: 0x7ff8000000000001},
		{op: opBatch, label: lbl("cpu.load"), points: []engine.BatchPoint{{TS: 10, Value: 1}, {TS: 20, Value: 1 << 63}}},
		{op: opCreateLens, label: lbl("kelvin"), other: lbl("cpu.load"), transform: "celsius_to_kelvin"},
		{op: opDropLens, label: lbl("kelvin")},
		{op: opComposeLens, label: lbl("both"), other: lbl("kelvin"), second: lbl("feet")},
	}
}

// goldenAdded are the ops added to version 1 since, each with its own file: the first file
// stays as it was written.
func goldenAdded() []command {
	return []command{
		{op: opRestoreLens, label: lbl("both"), other: lbl("cpu.load"), chain: []string{"celsius_to_kelvin", "returns"}},
	}
}

func TestGoldenCommands(t *testing.T) {
	checkGoldenCommands(t, "testdata/commands-v1.golden", goldenCommands())
	checkGoldenCommands(t, "testdata/commands-v1-op8.golden", goldenAdded())
	checkGoldenCommands(t, "testdata/commands-v1-op9.golden", []command{
		{op: opSettings, settings: Settings{CatalogCapacity: 10000, LensCapacity: 1000, Retention: 720 * time.Hour}},
	})
}

func checkGoldenCommands(t *testing.T, path string, cmds []command) {
	t.Helper()
	var want []byte
	for _, c := range cmds {
		b := c.encode()
		want = binary.BigEndian.AppendUint32(want, uint32(len(b)))
		want = append(want, b...)
	}
	golden.Check(t, path, want, *update)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cmds {
		n := binary.BigEndian.Uint32(data)
		got, err := decodeCommand(data[4 : 4+n])
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
			t.Fatalf("command %d decodes to %+v, %v; want %+v", i, got, err, c)
		}
		data = data[4+n:]
	}
}
