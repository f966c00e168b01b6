package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// import reads ts,value rows and appends them with APPEND_BATCH (docs/protocol.md, E3), a few
// batches pipelined at a time. It reads what export writes: a "ts,value" header gives float
// values, a "ts,bits" header (export --bits) their exact IEEE-754 bits; --bits reads bits
// whatever the header. Each batch is atomic, so when a batch is refused the points before it
// are stored and none after it is sent.

// importDepth is how many batches are in flight at once.
const importDepth = 4

func (c *command) importCmd(args []string) error {
	fs := c.flags("import", "FILE LABEL")
	bits := fs.Bool("bits", false, "values are IEEE-754 bits in hex, as export --bits writes them")
	size := fs.Int("batch", 1000, "points per APPEND_BATCH (at most "+fmt.Sprint(client.MaxBatchPoints)+")")
	create := fs.Bool("create", false, "create the series first (an existing one is fine)")
	pos, err := c.parse(fs, args, 2)
	if err != nil {
		return err
	}
	if *size < 1 || *size > client.MaxBatchPoints {
		return usagef("--batch %d: want 1 to %d", *size, client.MaxBatchPoints)
	}
	l, err := parseLabel(pos[1])
	if err != nil {
		return err
	}
	in, total, closeIn, err := openInput(pos[0])
	if err != nil {
		return err
	}
	defer closeIn()
	_, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	im := &importer{c: c, conn: conn, label: l, name: pos[1], size: *size, bits: *bits, total: total,
		progress: writesToTerminal(c.stderr), start: time.Now()}
	if *create {
		if err := im.round(func(ctx context.Context) error { return conn.Create(ctx, l) }); err != nil &&
			!errors.Is(err, client.ErrSeriesAlreadyExists) {
			return err
		}
	}
	return im.run(in)
}

// openInput opens FILE ("-" is stdin) and tells its size when it is a regular file (for the
// progress bar), else -1.
func openInput(name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return os.Stdin, -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, usagef("%v", err)
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { _ = f.Close() }, nil
}

// writesToTerminal reports whether w is a terminal (isTerminal), where a progress bar that
// redraws itself makes sense.
func writesToTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

type importer struct {
	c        *command
	conn     *client.Conn
	label    protocol.Label
	name     string // LABEL as given
	size     int
	bits     bool
	total    int64 // the input's size in bytes, or -1
	progress bool
	start    time.Time

	read     int64 // bytes read
	stored   int   // points acknowledged
	lastDraw time.Time
}

// round runs one exchange within --timeout: the whole import may take longer than it.
func (im *importer) round(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), im.c.conn.timeout)
	defer cancel()
	return f(ctx)
}

func (im *importer) run(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	bufs := make([][]client.Point, importDepth)
	for i := range bufs {
		bufs[i] = make([]client.Point, 0, im.size)
	}
	var b client.Batch
	cur, line := 0, 0
	now := time.Now
	for sc.Scan() {
		line++
		im.read += int64(len(sc.Bytes())) + 1
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if line == 1 && isHeader(text, &im.bits) {
			continue
		}
		p, err := parseRow(text, im.bits, now)
		if err != nil {
			return usagef("line %d: %v", line, err)
		}
		bufs[cur] = append(bufs[cur], p)
		if len(bufs[cur]) < im.size {
			continue
		}
		if cur++; cur < importDepth {
			continue
		}
		if err := im.send(&b, bufs[:cur]); err != nil {
			return err
		}
		cur = 0
	}
	if err := sc.Err(); err != nil {
		return usagef("reading line %d: %v", line+1, err)
	}
	if cur < importDepth && len(bufs[cur]) > 0 {
		cur++
	}
	if err := im.send(&b, bufs[:cur]); err != nil {
		return err
	}
	im.finish()
	return nil
}

// send appends the filled batches, pipelined in order, and empties them.
func (im *importer) send(b *client.Batch, batches [][]client.Point) error {
	b.Reset()
	for _, pts := range batches {
		if len(pts) > 0 {
			b.AppendBatchBits(im.label, pts)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	err := im.round(func(ctx context.Context) error { return im.conn.Do(ctx, b) })
	for i, r := range b.Results() {
		if err == nil && r.Err != nil {
			err = r.Err
		}
		if err != nil {
			im.stopped(batches[i])
			return err
		}
		im.stored += len(batches[i])
	}
	if err != nil {
		return err
	}
	for i := range batches {
		batches[i] = batches[i][:0]
	}
	im.draw(false)
	return nil
}

// stopped says, before the error, what is stored: every batch before the refused one.
func (im *importer) stopped(refused []client.Point) {
	im.clearBar()
	_, _ = fmt.Fprintf(im.c.stderr, "tau: import stopped: %d points stored; the batch from ts %d was not, nor any after it\n",
		im.stored, refused[0].TS)
}

func (im *importer) finish() {
	im.clearBar()
	d := time.Since(im.start)
	_, _ = fmt.Fprintf(im.c.stdout, "imported %d points into %s in %s (%.0f points/s)\n",
		im.stored, im.name, d.Round(time.Millisecond), float64(im.stored)/max(d.Seconds(), 1e-9))
}

// draw redraws the progress bar on a terminal, at most ten times a second.
func (im *importer) draw(force bool) {
	if !im.progress || (!force && time.Since(im.lastDraw) < 100*time.Millisecond) {
		return
	}
	im.lastDraw = time.Now()
	const width = 30
	if im.total <= 0 {
		_, _ = fmt.Fprintf(im.c.stderr, "\r%d points", im.stored)
		return
	}
	frac := min(float64(im.read)/float64(im.total), 1)
	n := int(frac * width)
	_, _ = fmt.Fprintf(im.c.stderr, "\r[%s%s] %3.0f%% %d points", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, im.stored)
}

func (im *importer) clearBar() {
	if im.progress {
		_, _ = fmt.Fprint(im.c.stderr, "\r\033[K")
	}
}

// isHeader recognises export's header lines; "ts,bits" turns bits on.
func isHeader(line string, bits *bool) bool {
	switch strings.ReplaceAll(line, " ", "") {
	case "ts,value":
		return true
	case "ts,bits":
		*bits = true
		return true
	}
	return false
}

// parseRow reads "ts,value": ts in any of the CLI's forms, value a float64 or (bits) hex bits.
func parseRow(line string, bits bool, now func() time.Time) (client.Point, error) {
	tsText, valText, ok := strings.Cut(line, ",")
	if !ok || strings.Contains(valText, ",") {
		return client.Point{}, fmt.Errorf("%q: want ts,value", line)
	}
	ts, err := parseTimestamp(strings.TrimSpace(tsText), now)
	if err != nil {
		return client.Point{}, err
	}
	v, err := parseValue(strings.TrimSpace(valText), bits)
	if err != nil {
		return client.Point{}, err
	}
	return client.Point{TS: ts, Bits: v}, nil
}
