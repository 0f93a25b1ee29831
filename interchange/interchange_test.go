package interchange_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/interchange"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
)

var existing = interchange.Validator{Policy: policy.New(policy.Lists{}), Mode: policy.Existing}

// The example line of docs/commands.md, with a real digest.
const designLine = `{"name":"exemplo.pt","status":"active","registrar":"REG-1","expires":"2027-03-01","tech_email":"dns@exemplo.pt","nameservers":[{"name":"ns1.exemplo.pt","addrs":["192.0.2.1","2001:db8::53"]},{"name":"ns.hosting.net"}],"ds":[{"key_tag":12345,"algorithm":13,"digest_type":2,"digest":"2BB183AF5F22588179A53B0A98631FAD1A292118E0D5F8E3E7B6D8B7A1E4C3F2"}]}`

func TestDecodeDesignExample(t *testing.T) {
	rd := interchange.NewReader(strings.NewReader(designLine+"\n"), "f.jsonl", existing)
	d, line, problems, err := rd.Next()
	if err != nil || len(problems) > 0 {
		t.Fatalf("Next: %v %v", err, problems)
	}
	if line != 1 || d.Name != "exemplo.pt" || d.Zone != "pt" || d.Status != store.StatusActive ||
		len(d.Nameservers) != 2 || len(d.Nameservers[0].Addrs) != 2 || d.DS[0].KeyTag != 12345 {
		t.Errorf("decoded %+v", d)
	}
	if _, _, _, err := rd.Next(); err != io.EOF {
		t.Errorf("after the last line: %v, want io.EOF", err)
	}
}

// TestRoundTrip: writing what was read reproduces the input byte for byte,
// for the sample registry and a synthetic one.
func TestRoundTrip(t *testing.T) {
	var synthetic bytes.Buffer
	w := interchange.NewWriter(&synthetic)
	for d := range synth.Generate(synth.Options{Domains: 3000, Seed: 5}) {
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for name, input := range map[string][]byte{"sample": ptzone.SampleRegistry, "synthetic": synthetic.Bytes()} {
		var out bytes.Buffer
		w := interchange.NewWriter(&out)
		n := 0
		for rec, err := range interchange.Records(bytes.NewReader(input), name, existing) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := w.Write(rec.Domain); err != nil {
				t.Fatal(err)
			}
			n++
		}
		w.Flush()
		if !bytes.Equal(out.Bytes(), input) {
			t.Errorf("%s: rewriting %d domains changed the bytes", name, n)
		}
	}
}

func TestSampleRegistryCoverage(t *testing.T) {
	zones := map[string]bool{}
	statuses := map[store.Status]bool{}
	algs := map[uint8]bool{}
	var sha1, v6, ownGlue, geo bool
	for rec, err := range interchange.Records(bytes.NewReader(ptzone.SampleRegistry), "sample", existing) {
		if err != nil {
			t.Fatal(err)
		}
		d := rec.Domain
		zones[d.Zone], statuses[d.Status], geo = true, true, geo || d.GeoAuthority
		for _, ds := range d.DS {
			algs[ds.Algorithm] = true
			sha1 = sha1 || ds.DigestType == 1
		}
		for _, ns := range d.Nameservers {
			ownGlue = ownGlue || store.IsSubdomain(ns.Name, d.Name) && len(ns.Addrs) > 0
			for _, a := range ns.Addrs {
				v6 = v6 || a.Is6()
			}
		}
	}
	for _, h := range policy.Hierarchies() {
		if !zones[h.Zone] {
			t.Errorf("the sample has no domain in %s", h.Zone)
		}
	}
	for _, s := range store.Statuses {
		if !statuses[s] {
			t.Errorf("the sample has no domain in status %s", s)
		}
	}
	for _, a := range []uint8{5, 7, 8, 13, 15} {
		if !algs[a] {
			t.Errorf("the sample has no DS with algorithm %d", a)
		}
	}
	if !sha1 || !v6 || !ownGlue || !geo {
		t.Errorf("the sample lacks SHA-1 digests (%v), IPv6 glue (%v), own glue (%v) or a geographic authority (%v)", sha1, v6, ownGlue, geo)
	}
}

// TestLineErrors: every problem names the line and the field.
func TestLineErrors(t *testing.T) {
	cases := []struct {
		line string
		want []string // each must appear in one error, in order
	}{
		{`{"name":"ok.pt"`, []string{"f:1: invalid JSON"}},
		{`not json`, []string{"f:1: invalid JSON at column 2"}},
		{`{"name":"a.pt","status":"active","registrar":"R","expires":"2027-01-01","colour":"blue"}`, []string{"f:1: colour: is not a field"}},
		{`{"name":"a.pt"}`, []string{"f:1: status: is missing", "f:1: registrar: is missing", "f:1: expires: is missing"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"01/02/2027"}`, []string{`f:1: expires: "01/02/2027" is not a date`}},
		{`{"name":"ok.pt","status":"gone","registrar":"R","expires":"2027-01-01"}`, []string{`f:1: status: "gone" is not a status`}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","nameservers":"ns1"}`, []string{"f:1: nameservers: expected"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","nameservers":[{"name":"ns1.ok.pt","addrs":["192.0.2.1","300.0.0.1"]}]}`,
			[]string{`f:1: nameservers[0].addrs[1]: "300.0.0.1" is not an IP address`}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","nameservers":[{"name":"ns1.ok.pt"}]}`,
			[]string{"f:1: nameservers[0].addrs: ns1.ok.pt is inside ok.pt, so it needs glue"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","nameservers":[{"name":"ns1.x.net","addrs":["::ffff:192.0.2.1","0.0.0.0"]}]}`,
			[]string{"nameservers[0].addrs[0]: ::ffff:192.0.2.1 is an IPv4-mapped", "nameservers[0].addrs[1]: 0.0.0.0 is the unspecified"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","ds":[{"key_tag":70000,"algorithm":0,"digest_type":2,"digest":"abcd"}]}`,
			[]string{"f:1: ds[0].key_tag: 70000 is out of range", "ds[0].algorithm: 0 is reserved", "ds[0].digest: has 2 octets, digest type 2 needs 32"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","ds":[{"algorithm":13,"digest_type":2,"digest":"AB"}]}`,
			[]string{"f:1: ds[0].key_tag: is missing"}},
		{`{"name":"Exemplo.pt","status":"active","registrar":"R","expires":"2027-01-01"}`, []string{"f:1: name: \"Exemplo.pt\" has uppercase letters"}},
		{`{"name":"café.pt","status":"active","registrar":"R","expires":"2027-01-01"}`, []string{`f:1: name: "café.pt" must be written in A-label form: "xn--caf-dma.pt"`}},
		{`{"name":"a.pt","status":"active","registrar":"R","expires":"2027-01-01"}`, []string{"f:1: name: \"a\" has 1 character"}},
		{`{"name":"ok.co.uk","status":"active","registrar":"R","expires":"2027-01-01"}`, []string{"f:1: name: \"co.uk\" is not a .pt hierarchy"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01","tech_email":"not a mailbox"}`, []string{"f:1: tech_email:"}},
		{`{"name":"ok.pt","status":"active","registrar":"R","expires":"2027-01-01"} {}`, []string{"f:1: more than one JSON value"}},
	}
	for _, c := range cases {
		rep, err := interchange.Validate(strings.NewReader(c.line+"\n"), "f", existing, 100)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range rep.Errors {
			msgs = append(msgs, e.Error())
		}
		all := strings.Join(msgs, "\n")
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("line %s\nerrors:\n%s\nmissing %q", c.line, all, w)
			}
		}
		if rep.ErrorCount == 0 || rep.Domains != 0 {
			t.Errorf("line %s: %d errors, %d good domains", c.line, rep.ErrorCount, rep.Domains)
		}
	}
}

func TestValidateDuplicatesAndCounts(t *testing.T) {
	input := designLine + "\n\n" + strings.Replace(designLine, `"status":"active"`, `"status":"reserved"`, 1) + "\r\n" +
		`{"name":"outro.pt","status":"active","registrar":"R","expires":"2027-01-01"}` + "\n"
	rep, err := interchange.Validate(strings.NewReader(input), "reg.jsonl", existing, 10)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ErrorCount != 1 || rep.Errors[0].Error() != "reg.jsonl:3: name: exemplo.pt is also on line 1" {
		t.Errorf("report = %+v", rep)
	}
	if rep.Domains != 3 {
		t.Errorf("Domains = %d, want 3 (blank lines are skipped, line numbers kept)", rep.Domains)
	}
	// maxErrors bounds what is kept, not what is counted.
	bad := strings.Repeat("{}\n", 20)
	rep, _ = interchange.Validate(strings.NewReader(bad), "bad", existing, 3)
	if len(rep.Errors) != 3 || rep.ErrorCount != 80 {
		t.Errorf("kept %d of %d errors, want 3 of 80", len(rep.Errors), rep.ErrorCount)
	}
}

func TestLongLineAndBOM(t *testing.T) {
	long := `{"name":"` + strings.Repeat("a", interchange.MaxLineBytes) + `"}`
	input := "\xef\xbb\xbf" + designLine + "\n" + long + "\n" + `{"name":"outro.pt","status":"active","registrar":"R","expires":"2027-01-01"}`
	rep, err := interchange.Validate(strings.NewReader(input), "f", existing, 10)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ErrorCount != 1 || !strings.HasPrefix(rep.Errors[0].Error(), "f:2: line is longer than") {
		t.Errorf("report = %v", rep.Errors)
	}
	if rep.Domains != 2 {
		t.Errorf("Domains = %d, want 2: the BOM and the line after the long one", rep.Domains)
	}
}

func TestRecordsStopsAtFirstProblem(t *testing.T) {
	input := designLine + "\n" + `{"name":"x"}` + "\n" + designLine + "\n"
	var lines []int
	var gotErr error
	for rec, err := range interchange.Records(strings.NewReader(input), "f", existing) {
		if err != nil {
			gotErr = err
			break
		}
		lines = append(lines, rec.Line)
	}
	var le *interchange.LineError
	if !errors.As(gotErr, &le) || le.Line != 2 {
		t.Errorf("error = %v, want a LineError on line 2", gotErr)
	}
	if !slices.Equal(lines, []int{1}) {
		t.Errorf("records before the error: %v", lines)
	}
}

func TestStrictModeAppliesEveryRule(t *testing.T) {
	line := `{"name":"lisboa.pt","status":"active","registrar":"R","expires":"2027-01-01"}` + "\n"
	rep, _ := interchange.Validate(strings.NewReader(line), "f", existing, 10)
	if rep.ErrorCount != 0 {
		t.Errorf("existing mode refused a grandfathered name: %v", rep.Errors)
	}
	strict := interchange.Validator{Policy: existing.Policy, Mode: policy.Registration}
	rep, _ = interchange.Validate(strings.NewReader(line), "f", strict, 10)
	if rep.ErrorCount != 1 || !strings.Contains(rep.Errors[0].Error(), "Art 11.b") {
		t.Errorf("strict mode: %v", rep.Errors)
	}
}
