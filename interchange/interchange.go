package interchange

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
)

// MaxLineBytes bounds one line; real domains need a few hundred bytes.
const MaxLineBytes = 256 << 10

const dateLayout = "2006-01-02"

// LineError is one problem with one line of an input file.
type LineError struct {
	File  string
	Line  int
	Field string // empty when the whole line is at fault
	Msg   string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// record is the wire form of one line. Field order is the output order.
type record struct {
	Name         string       `json:"name"`
	Status       string       `json:"status"`
	Registrar    string       `json:"registrar"`
	Expires      string       `json:"expires"`
	TechEmail    string       `json:"tech_email,omitempty"`
	GeoAuthority bool         `json:"geo_authority,omitempty"`
	Nameservers  []nameserver `json:"nameservers,omitempty"`
	DS           []dsRecord   `json:"ds,omitempty"`
}

type nameserver struct {
	Name  string   `json:"name"`
	Addrs []string `json:"addrs,omitempty"`
}

// dsRecord numbers are pointers so that a missing field is told apart from
// zero, and int64 so that an out-of-range value is reported with its field.
type dsRecord struct {
	KeyTag     *int64 `json:"key_tag"`
	Algorithm  *int64 `json:"algorithm"`
	DigestType *int64 `json:"digest_type"`
	Digest     string `json:"digest"`
}

// Validator checks decoded domains against the Rules.
type Validator struct {
	Policy *policy.Policy
	// Mode: policy.Existing for imports of registered domains (the default
	// zero value is policy.Registration, the strictest).
	Mode policy.Mode
}

// Reader decodes one interchange file line by line.
type Reader struct {
	br   *bufio.Reader
	file string
	line int
	v    Validator
}

// NewReader reads from r; file names the input in errors.
func NewReader(r io.Reader, file string, v Validator) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), file: file, v: v}
}

// Next returns the next domain and its line number. Problems with the line
// come back as a slice of *LineError (every problem of the line) with
// err == nil; err is io.EOF at the end and any other error is a read error.
func (r *Reader) Next() (d store.Domain, line int, problems []*LineError, err error) {
	for {
		raw, err := r.readLine()
		if err != nil {
			return store.Domain{}, r.line, nil, err
		}
		if r.line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		d, problems := r.decode(raw)
		return d, r.line, problems, nil
	}
}

// readLine returns the next line without its line ending. A line longer
// than MaxLineBytes is skipped whole and reported.
func (r *Reader) readLine() ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && (len(buf) > 0 || tooLong) {
			err = nil
		}
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reading %s: %w", r.file, err)
			}
			return nil, err
		}
		r.line++
		if tooLong {
			return nil, &LineError{File: r.file, Line: r.line, Msg: fmt.Sprintf("line is longer than %d bytes", MaxLineBytes)}
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

func (r *Reader) errorf(field, format string, args ...any) *LineError {
	return &LineError{File: r.file, Line: r.line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// decode turns one line into a domain and collects every problem with it.
func (r *Reader) decode(raw []byte) (store.Domain, []*LineError) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return store.Domain{}, []*LineError{r.jsonError(err)}
	}
	if dec.More() {
		return store.Domain{}, []*LineError{r.errorf("", "more than one JSON value on the line")}
	}

	var problems []*LineError
	// spoiled holds fields that failed to decode: checks of what remains
	// of them would only repeat the problem.
	var spoiled []string
	add := func(field, format string, args ...any) {
		problems = append(problems, r.errorf(field, format, args...))
		spoiled = append(spoiled, field)
	}
	d := store.Domain{
		Name:         rec.Name,
		Status:       store.Status(rec.Status),
		Registrar:    rec.Registrar,
		TechEmail:    rec.TechEmail,
		GeoAuthority: rec.GeoAuthority,
	}
	for _, f := range [...]struct{ field, value string }{
		{"name", rec.Name}, {"status", rec.Status}, {"registrar", rec.Registrar}, {"expires", rec.Expires},
	} {
		if f.value == "" {
			add(f.field, "is missing")
		}
	}
	if rec.Expires != "" {
		t, err := time.Parse(dateLayout, rec.Expires)
		if err != nil {
			add("expires", "%q is not a date in the form YYYY-MM-DD", rec.Expires)
		}
		d.Expires = t
	}
	for i, ns := range rec.Nameservers {
		n := store.Nameserver{Name: ns.Name}
		for k, a := range ns.Addrs {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				add(fmt.Sprintf("nameservers[%d].addrs[%d]", i, k), "%q is not an IP address", a)
				spoiled = append(spoiled, fmt.Sprintf("nameservers[%d].addrs", i))
				continue
			}
			n.Addrs = append(n.Addrs, addr)
		}
		d.Nameservers = append(d.Nameservers, n)
	}
	for i, ds := range rec.DS {
		field := fmt.Sprintf("ds[%d]", i)
		var out store.DS
		num := func(name string, v *int64, max int64) int64 {
			switch {
			case v == nil:
				add(field+"."+name, "is missing")
			case *v < 0 || *v > max:
				add(field+"."+name, "%d is out of range 0-%d", *v, max)
			default:
				return *v
			}
			return 0
		}
		out.KeyTag = uint16(num("key_tag", ds.KeyTag, 65535))
		out.Algorithm = uint8(num("algorithm", ds.Algorithm, 255))
		out.DigestType = uint8(num("digest_type", ds.DigestType, 255))
		out.Digest = ds.Digest
		d.DS = append(d.DS, out)
	}
	for _, p := range r.validate(&d) {
		if !isSpoiled(p.Field, spoiled) {
			problems = append(problems, p)
		}
	}
	return d, problems
}

// isSpoiled reports whether field is, or lies within, a spoiled field.
func isSpoiled(field string, spoiled []string) bool {
	for _, s := range spoiled {
		if field == s || strings.HasPrefix(field, s+".") || strings.HasPrefix(field, s+"[") {
			return true
		}
	}
	return false
}

// validate applies the Rules to the name and the store's structural checks
// to the rest; it sets d.Zone and normalizes d.
func (r *Reader) validate(d *store.Domain) []*LineError {
	var problems []*LineError
	d.Normalize()
	res := r.v.Policy.CheckName(d.Name, policy.Options{Mode: r.v.Mode, GeoAuthority: d.GeoAuthority})
	for _, v := range res.Violations {
		problems = append(problems, r.errorf("name", "%s (%s)", v.Message, v.Article))
	}
	if res.Valid && res.Name != d.Name {
		problems = append(problems, r.errorf("name", "%q must be written in A-label form: %q", d.Name, res.Name))
	}
	d.Zone = res.Zone
	nameBad := len(problems) > 0
	for _, fe := range d.Validate() {
		if nameBad && (fe.Field == "name" || fe.Field == "zone") {
			continue // already explained by the Rules
		}
		problems = append(problems, r.errorf(fe.Field, "%s", fe.Message))
	}
	return problems
}

func (r *Reader) jsonError(err error) *LineError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return r.errorf("", "invalid JSON at column %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(line)"
		}
		return r.errorf(field, "expected %s, got JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return r.errorf("", "invalid JSON: the line ends inside a value")
	default:
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
			return r.errorf(strings.Trim(f, `"`), "is not a field of the interchange format")
		}
		return r.errorf("", "invalid JSON: %s", msg)
	}
}

// Report is the outcome of validating a whole file.
type Report struct {
	Domains int
	// Errors holds the first problems found, in line order; ErrorCount
	// counts them all.
	Errors     []*LineError
	ErrorCount int
}

// Validate reads a whole file and reports every problem, keeping at most
// maxErrors of them: line syntax and fields, the Rules, and names that occur
// more than once. The error is non-nil only when the input cannot be read.
func Validate(r io.Reader, file string, v Validator, maxErrors int) (Report, error) {
	var rep Report
	keep := func(e *LineError) {
		rep.ErrorCount++
		if len(rep.Errors) < maxErrors {
			rep.Errors = append(rep.Errors, e)
		}
	}
	seen := make(map[string]int)
	rd := NewReader(r, file, v)
	for {
		d, line, problems, err := rd.Next()
		if err == io.EOF {
			return rep, nil
		}
		var le *LineError
		if errors.As(err, &le) {
			keep(le)
			continue
		}
		if err != nil {
			return rep, err
		}
		for _, p := range problems {
			keep(p)
		}
		if d.Name != "" {
			if first, dup := seen[d.Name]; dup {
				keep(&LineError{File: file, Line: line, Field: "name", Msg: fmt.Sprintf("%s is also on line %d", d.Name, first)})
			} else {
				seen[d.Name] = line
			}
		}
		if len(problems) == 0 {
			rep.Domains++
		}
	}
}

// Records streams a file's domains for store.Import. It validates each line
// again (the file may have changed since Validate ran) and yields the first
// problem as an error, which makes the import roll back.
func Records(r io.Reader, file string, v Validator) iter.Seq2[store.ImportRecord, error] {
	return func(yield func(store.ImportRecord, error) bool) {
		rd := NewReader(r, file, v)
		for {
			d, line, problems, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err == nil && len(problems) > 0 {
				err = problems[0]
			}
			if err != nil {
				yield(store.ImportRecord{}, err)
				return
			}
			if !yield(store.ImportRecord{Line: line, Domain: d}, nil) {
				return
			}
		}
	}
}

// Writer encodes domains, one line each.
type Writer struct {
	bw  *bufio.Writer
	buf []byte
}

// NewWriter writes to w; call Flush when done.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 1024)}
}

// Write encodes one domain. Output is canonical: the same domain always
// gives the same bytes, so export followed by import and export again
// reproduces the file exactly. The bytes are those encoding/json gives for
// the record type with HTML escaping off (a test holds them equal); it is
// written out by hand because exports stream millions of lines.
func (w *Writer) Write(d store.Domain) error {
	b := w.buf[:0]
	b = append(b, `{"name":`...)
	b = appendString(b, d.Name)
	b = append(b, `,"status":`...)
	b = appendString(b, string(d.Status))
	b = append(b, `,"registrar":`...)
	b = appendString(b, d.Registrar)
	b = append(b, `,"expires":`...)
	if d.Expires.IsZero() {
		b = append(b, `""`...)
	} else {
		b = append(b, '"')
		b = d.Expires.AppendFormat(b, dateLayout)
		b = append(b, '"')
	}
	if d.TechEmail != "" {
		b = append(b, `,"tech_email":`...)
		b = appendString(b, d.TechEmail)
	}
	if d.GeoAuthority {
		b = append(b, `,"geo_authority":true`...)
	}
	if len(d.Nameservers) > 0 {
		b = append(b, `,"nameservers":[`...)
		for i, ns := range d.Nameservers {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, ns.Name)
			if len(ns.Addrs) > 0 {
				b = append(b, `,"addrs":[`...)
				for k, a := range ns.Addrs {
					if k > 0 {
						b = append(b, ',')
					}
					b = append(b, '"')
					b = a.AppendTo(b)
					b = append(b, '"')
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(d.DS) > 0 {
		b = append(b, `,"ds":[`...)
		for i, ds := range d.DS {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key_tag":`...)
			b = strconv.AppendUint(b, uint64(ds.KeyTag), 10)
			b = append(b, `,"algorithm":`...)
			b = strconv.AppendUint(b, uint64(ds.Algorithm), 10)
			b = append(b, `,"digest_type":`...)
			b = strconv.AppendUint(b, uint64(ds.DigestType), 10)
			b = append(b, `,"digest":`...)
			b = appendString(b, ds.Digest)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	w.buf = b
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", d.Name, err)
	}
	return nil
}

// appendString appends s as a JSON string the way encoding/json does with
// HTML escaping off: short escapes for \b \f \n \r \t, \u00XX for other
// control characters, \ufffd for invalid UTF-8, \u2028 and \u2029 escaped.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Flush writes out buffered lines.
func (w *Writer) Flush() error { return w.bw.Flush() }
