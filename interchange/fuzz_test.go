package interchange_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/interchange"
)

// FuzzDecode: whatever a registry export holds, the reader never panics;
// each problem it reports names the file and a line of the input, in
// order; and a domain it accepts is written back as a line that reads as
// the same domain (what ptzone import takes is what ptzone export gives).
// Seeded with the design's example, the sample registry's lines and
// damaged copies of them.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(designLine + "\n"))
	lines := bytes.Split(bytes.TrimSpace(ptzone.SampleRegistry), []byte("\n"))
	for i, l := range lines {
		if i%25 != 0 {
			continue
		}
		f.Add(l)
		f.Add(append(append([]byte(nil), l...), l...)) // two values on a line
		f.Add(bytes.ReplaceAll(l, []byte(`"`), []byte(`'`)))
		f.Add(l[:len(l)/2])
	}
	f.Add([]byte("\xef\xbb\xbf" + designLine + "\r\n\n  \n{}\n"))
	f.Add([]byte(`{"name":"a.pt","ds":[{"key_tag":-1,"algorithm":256,"digest":"zz"}],"nameservers":[{"name":"ns.a.pt","addrs":["x"]}]}`))
	const file = "fuzz.jsonl"
	f.Fuzz(func(t *testing.T, input []byte) {
		total := bytes.Count(input, []byte("\n")) + 1
		rd := interchange.NewReader(bytes.NewReader(input), file, existing)
		last := 0
		for {
			d, line, problems, err := rd.Next()
			if err == io.EOF {
				return
			}
			var le *interchange.LineError
			if err != nil && !errors.As(err, &le) {
				t.Fatalf("a read error from memory: %v", err)
			}
			if line <= last || line > total {
				t.Fatalf("line %d after line %d, in an input of %d lines", line, last, total)
			}
			last = line
			if le != nil {
				problems = append(problems, le)
			}
			for _, p := range problems {
				if p.File != file || p.Line != line || !strings.HasPrefix(p.Error(), p.File+":") {
					t.Fatalf("line %d: the problem %q does not name its file and line", line, p)
				}
			}
			if err != nil || len(problems) > 0 {
				continue
			}
			var out bytes.Buffer
			w := interchange.NewWriter(&out)
			if err := w.Write(d); err != nil {
				t.Fatalf("line %d: writing what was read: %v", line, err)
			}
			w.Flush()
			back, _, problems, err := interchange.NewReader(&out, "again", existing).Next()
			if err != nil || len(problems) > 0 {
				t.Fatalf("line %d: %s\nwritten back as %s\ndoes not read: %v %v", line, input, out.Bytes(), err, problems)
			}
			if !reflect.DeepEqual(back, d) {
				t.Fatalf("line %d: read %+v\nwritten and read again %+v", line, d, back)
			}
		}
	})
}
