package policy_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
)

var pol = policy.New(policy.Lists{})

// nameCase is one name and the violation codes it must produce (none: valid).
type nameCase struct {
	name  string
	opt   policy.Options
	codes []string
}

func runCases(t *testing.T, p *policy.Policy, cases []nameCase) {
	t.Helper()
	for _, tc := range cases {
		res := p.CheckName(tc.name, tc.opt)
		var got []string
		for _, v := range res.Violations {
			got = append(got, v.Code)
			if v.Message == "" || v.MessagePT == "" || v.Article == "" {
				t.Errorf("%q: violation %+v lacks a message, a Portuguese message or an article", tc.name, v)
			}
		}
		if !slices.Equal(got, tc.codes) {
			t.Errorf("CheckName(%q, %+v) codes = %v, want %v\n%+v", tc.name, tc.opt, got, tc.codes, res.Violations)
		}
		if res.Valid != (len(tc.codes) == 0) {
			t.Errorf("CheckName(%q).Valid = %v with violations %v", tc.name, res.Valid, got)
		}
		if res.Violations == nil {
			t.Errorf("CheckName(%q): Violations is nil, want an empty slice (JSON [])", tc.name)
		}
	}
}

// Art 8.1: between 2 and 63 characters.
func TestArt8_1Length(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "a", codes: []string{policy.CodeLength}},
		{name: "ab"},
		{name: strings.Repeat("a", 63)},
		{name: strings.Repeat("a", 64), codes: []string{policy.CodeLength}},
		{name: "ç", codes: []string{policy.CodeLength}},
		{name: "çé"},
		// 54 characters, but an A-label of more than 63 octets.
		{name: string([]rune(strings.Repeat("áéíóú", 11))[:54]), codes: []string{policy.CodeLength}},
		{name: string([]rune(strings.Repeat("áéíóú", 11))[:53])},
	})
}

// Art 8.1: a-z, 0-9 and the hyphen (and "z", which the seed's list omits by
// an evident slip).
func TestArt8_1Characters(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "zebra-2026"},
		{name: "0123456789"},
		{name: "abcdefghijklmnopqrstuvwxyz"},
		{name: "ex_ample", codes: []string{policy.CodeCharacters}},
		{name: "ex ample", codes: []string{policy.CodeCharacters}},
		{name: "ex!am@ple", codes: []string{policy.CodeCharacters, policy.CodeCharacters}},
		{name: "tab\there", codes: []string{policy.CodeCharacters}},
		{name: "Exemplo", codes: []string{policy.CodeUppercase}},
		{name: "EXEMPLO.PT", codes: []string{policy.CodeUppercase}},
	})
}

// Art 8.2: the Portuguese letters, and no others even where IDNA2008 would
// accept them.
func TestArt8_2PortugueseLetters(t *testing.T) {
	for _, r := range "áàâãçéêíóôõú" {
		runCases(t, pol, []nameCase{{name: "ab" + string(r)}})
	}
	for _, r := range "ñüöèëïßæøåłžščğıαбд中ب" {
		runCases(t, pol, []nameCase{{name: "ab" + string(r), codes: []string{policy.CodeCharacters}}})
	}
	res := pol.CheckName("ñandu", policy.Options{})
	if !strings.Contains(res.Violations[0].Message, "'ñ'") || res.Violations[0].Article != "Art 8.2" {
		t.Errorf("the violation does not name the letter and Art 8.2: %+v", res.Violations[0])
	}
}

// Art 8.3: the hyphen separates words, never first or last; the article's
// own examples are valid.
func TestArt8_3Hyphen(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "cm-lisboa.pt"},
		{name: "guarda-redes.com.pt"},
		{name: "-exemplo", codes: []string{policy.CodeHyphenEdge}},
		{name: "exemplo-", codes: []string{policy.CodeHyphenEdge}},
		{name: "-", codes: []string{policy.CodeLength, policy.CodeHyphenEdge}},
		{name: "a-b-c"},
	})
}

// Art 9.1.e: "--" in the third and fourth positions only as the xn-- of a
// valid A-label of an allowed U-label.
func TestArt9_1eDoubleHyphen(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "ab--cd", codes: []string{policy.CodeDoubleHyphen}},
		{name: "xy--z", codes: []string{policy.CodeDoubleHyphen}},
		{name: "abc--d"}, // positions 4 and 5: allowed
		{name: "xn--caf-dma"},
		{name: "xn--abc", codes: []string{policy.CodeDoubleHyphen}},
		{name: "xn--", codes: []string{policy.CodeDoubleHyphen}},
		// A valid A-label whose U-label has a letter outside Art 8 ("nöandu").
		{name: "xn--nandu-jua", codes: []string{policy.CodeCharacters, policy.CodeDoubleHyphen}},
		// A valid A-label of Cyrillic "пример": each foreign letter is
		// reported once (п р и м е), then the misused prefix.
		{name: "xn--e1afmkfd", codes: []string{policy.CodeCharacters, policy.CodeCharacters, policy.CodeCharacters,
			policy.CodeCharacters, policy.CodeCharacters, policy.CodeDoubleHyphen}},
		{name: "ab--çé", codes: []string{policy.CodeDoubleHyphen}},
	})
}

// Art 9.1.b: not a top-level domain of the root zone, in any hierarchy.
func TestArt9_1bTLD(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "pt", codes: []string{policy.CodeTLD}},
		{name: "net", codes: []string{policy.CodeTLD}},
		{name: "org.com.pt", codes: []string{policy.CodeTLD}},
		{name: "museum.org.pt", codes: []string{policy.CodeTLD}},
		{name: "netos.pt"},
	})
	// A replacement list is used instead of the bundled one.
	custom, err := policy.ReadList(strings.NewReader("# Version 2026112200\nEXEMPLOTLD\nXN--P1AI\n"), "tlds.txt", policy.ExactList)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, policy.New(policy.Lists{TLDs: custom}), []nameCase{
		{name: "exemplotld", codes: []string{policy.CodeTLD}},
		{name: "net"},
	})
}

// Art 9.1.d: not an Internet protocol, application or term.
func TestArt9_1dReserved(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "www", codes: []string{policy.CodeReserved}},
		{name: "localhost.com.pt", codes: []string{policy.CodeReserved}},
		{name: "whois.org.pt", codes: []string{policy.CodeReserved}},
		{name: "www-loja"},
	})
	custom, err := policy.ReadList(strings.NewReader("epp\n"), "reserved.txt", policy.ExactList)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, policy.New(policy.Lists{Reserved: custom}), []nameCase{
		{name: "epp", codes: []string{policy.CodeReserved}},
		{name: "www"},
	})
}

// Art 9.1.f with 11.b: geographic names are allowed under com.pt, and under
// pt only for the legitimate administrative authority.
func TestArt9_1fGeographic(t *testing.T) {
	auth := policy.Options{GeoAuthority: true}
	runCases(t, pol, []nameCase{
		{name: "lisboa", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "lisboa", opt: auth},
		{name: "lisboa.com.pt"},
		{name: "lisboa.org.pt", codes: []string{policy.CodeGeographic}},
		{name: "lisboa.edu.pt", opt: auth, codes: []string{policy.CodeGeographic}},
		// Written with or without diacritics and hyphens (Art 9.1.f: "regardless
		// of the language in which it is written").
		{name: "açores", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "acores", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "vila-nova-de-gaia", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "vilanovadegaia", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "açores-café.com.pt"},
		// ISO 3166-1 alpha-3 codes and country names (items a and b).
		{name: "prt", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "espanha", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "spain", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "lisboa-tours"},
	})
	custom, err := policy.ReadList(strings.NewReader("Ribeira Quente\n"), "geo.txt", policy.FoldedList)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, policy.New(policy.Lists{Geographic: custom}), []nameCase{
		{name: "ribeira-quente", codes: []string{policy.CodeGeoNeedsAuthor}},
		{name: "lisboa"},
	})
}

// The hierarchies: open ones take registrations, legacy ones are closed to
// them (Art 41.4); names are registered one label below a hierarchy.
func TestHierarchies(t *testing.T) {
	runCases(t, pol, []nameCase{
		{name: "exemplo.pt"},
		{name: "exemplo.com.pt"},
		{name: "exemplo.org.pt"},
		{name: "exemplo.edu.pt"},
		{name: "exemplo.gov.pt"},
		{name: "exemplo", opt: policy.Options{Zone: "gov.pt"}},
		{name: "exemplo.net.pt", codes: []string{policy.CodeLegacyClosed}},
		{name: "exemplo.publ.pt", codes: []string{policy.CodeLegacyClosed}},
		{name: "exemplo.int.pt", codes: []string{policy.CodeLegacyClosed}},
		{name: "joao-silva.nome.pt", codes: []string{policy.CodeLegacyClosed}},
		{name: "exemplo.nome.pt", opt: policy.Options{Mode: policy.Existing}},
		{name: "com.pt", codes: []string{policy.CodeIsHierarchy}},
		{name: "www.exemplo.pt", codes: []string{policy.CodeTooDeep}},
		{name: "exemplo.co.pt", codes: []string{policy.CodeTooDeep}},
		{name: "exemplo.com", codes: []string{policy.CodeUnknownZone}},
		{name: "exemplo.com.pt", opt: policy.Options{Zone: "org.pt"}, codes: []string{policy.CodeZoneMismatch}},
	})
	res := pol.CheckName("loja", policy.Options{Zone: "com.pt"})
	if res.Name != "loja.com.pt" || res.Zone != "com.pt" {
		t.Errorf("bare label in com.pt: %+v", res)
	}
}

// Existing mode keeps the composition rules and drops the prohibitions
// later Rules added (Art 41.2-41.4).
func TestExistingMode(t *testing.T) {
	ex := policy.Options{Mode: policy.Existing}
	runCases(t, pol, []nameCase{
		{name: "lisboa.org.pt", opt: ex},
		{name: "www.pt", opt: ex},
		{name: "com.pt.", opt: ex, codes: []string{policy.CodeTrailingDot, policy.CodeIsHierarchy}},
		{name: "net.net.pt", opt: ex},
		{name: "ab--cd.pt", opt: ex, codes: []string{policy.CodeDoubleHyphen}},
		{name: "a.pt", opt: ex, codes: []string{policy.CodeLength}},
	})
}

// TestIDNRoundTrip compares with A-labels computed independently (Python's
// idna codec, which agrees with IDNA2008 for these letters).
func TestIDNRoundTrip(t *testing.T) {
	cases := []struct{ u, a string }{
		{"açores-café.com.pt", "xn--aores-caf-q3a4a.com.pt"},
		{"café.pt", "xn--caf-dma.pt"},
		{"pão-quente.pt", "xn--po-quente-l2a.pt"},
		{"coração.pt", "xn--corao-dra1a.pt"},
		{"música.org.pt", "xn--msica-7ua.org.pt"},
	}
	for _, c := range cases {
		fromU := pol.CheckName(c.u, policy.Options{Mode: policy.Existing})
		fromA := pol.CheckName(c.a, policy.Options{Mode: policy.Existing})
		if !fromU.Valid || !fromA.Valid {
			t.Fatalf("%s / %s: %+v / %+v", c.u, c.a, fromU.Violations, fromA.Violations)
		}
		if fromU.Name != c.a || fromU.Unicode != c.u {
			t.Errorf("U-label %s gave A %s U %s, want %s", c.u, fromU.Name, fromU.Unicode, c.a)
		}
		if fromA.Name != c.a || fromA.Unicode != c.u {
			t.Errorf("A-label %s gave A %s U %s, want %s", c.a, fromA.Name, fromA.Unicode, c.u)
		}
	}
}

// Malformed input gets a clear message and never a panic.
func TestMalformedInput(t *testing.T) {
	cases := []struct {
		in   string
		code string
		says string // the message must contain this
	}{
		{"", policy.CodeEmpty, "empty"},
		{strings.Repeat("x", 64) + ".pt", policy.CodeLength, "64 characters"},
		{"caf\xe9.pt", policy.CodeUTF8, "UTF-8"},
		{"\xff", policy.CodeUTF8, "byte 0xff"},
		{"Exemplo.pt", policy.CodeUppercase, `"exemplo.pt"`},
		{"exemplo.pt.", policy.CodeTrailingDot, "trailing dot"},
		{"um exemplo.pt", policy.CodeCharacters, "space"},
		{"um_exemplo.pt", policy.CodeCharacters, "underscore"},
		{"cafe\u0301.pt", policy.CodeNFC, "normalization"},
		{".pt", policy.CodeEmptyLabel, "empty label"},
		{"a..pt", policy.CodeEmptyLabel, "empty label"},
		{"...", policy.CodeEmptyLabel, "empty label"},
		{"exemplo\x00.pt", policy.CodeCharacters, "U+0000"},
		{" exemplo.pt", policy.CodeCharacters, "space"},
	}
	for _, c := range cases {
		res := pol.CheckName(c.in, policy.Options{})
		if res.Valid {
			t.Errorf("%q accepted", c.in)
			continue
		}
		found := false
		for _, v := range res.Violations {
			if v.Code == c.code && strings.Contains(v.Message, c.says) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: no %s violation saying %q: %+v", c.in, c.code, c.says, res.Violations)
		}
	}
}

func TestPublishable(t *testing.T) {
	for _, s := range store.Statuses {
		if got, want := policy.Publishable(s), s == store.StatusActive; got != want {
			t.Errorf("Publishable(%s) = %v, want %v (Art 4, 26.5, 35, 39)", s, got, want)
		}
	}
	if got := policy.PublishableStatuses(); !slices.Equal(got, []store.Status{store.StatusActive}) {
		t.Errorf("PublishableStatuses = %v", got)
	}
}

func TestBundledLists(t *testing.T) {
	b := policy.BundledLists()
	for _, tld := range []string{"pt", "com", "br", "xn--p1ai", "museum"} {
		if !b.TLDs.Contains(tld) {
			t.Errorf("bundled TLD list lacks %s", tld)
		}
	}
	// A sample of the 308 municipalities, the regions, ISO codes and names.
	for _, g := range []string{"lisboa", "vila-real-de-santo-antónio", "ílhavo", "funchal", "corvo", "açores", "prt", "bra", "alemanha", "germany"} {
		if !b.Geographic.Contains(g) {
			t.Errorf("bundled geographic list lacks %s", g)
		}
	}
	if b.TLDs.Len() < 1000 || b.Geographic.Len() < 900 || b.Reserved.Len() < 40 {
		t.Errorf("bundled lists are too short: %d TLDs, %d geographic, %d reserved", b.TLDs.Len(), b.Geographic.Len(), b.Reserved.Len())
	}
}

func TestReadListErrors(t *testing.T) {
	_, err := policy.ReadList(strings.NewReader("ok\n\nbad..x\n"), "mylist.txt", policy.ExactList)
	if err == nil || !strings.Contains(err.Error(), "mylist.txt:3") {
		t.Errorf("error %v does not name mylist.txt:3", err)
	}
	_, err = policy.ReadList(strings.NewReader("---\n"), "geo.txt", policy.FoldedList)
	if err == nil || !strings.Contains(err.Error(), "geo.txt:1") {
		t.Errorf("error %v does not name geo.txt:1", err)
	}
}

func TestVersion(t *testing.T) {
	if pol.Version() != policy.New(policy.Lists{}).Version() {
		t.Error("the same lists give different versions")
	}
	custom, _ := policy.ReadList(strings.NewReader("exemplo\n"), "t", policy.ExactList)
	if policy.New(policy.Lists{TLDs: custom}).Version() == pol.Version() {
		t.Error("a different TLD list gives the same version")
	}
}

func TestZoneOf(t *testing.T) {
	for name, want := range map[string]string{"a.pt": "pt", "a.com.pt": "com.pt", "a.b.nome.pt": "nome.pt", "x.com": ""} {
		if got, _ := policy.ZoneOf(name); got != want {
			t.Errorf("ZoneOf(%s) = %q, want %q", name, got, want)
		}
	}
}

// FuzzCheckName: no input panics, and a valid result is stable: checking
// its A-label or its U-label again gives the same valid name.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"exemplo.pt", "açores-café.com.pt", "xn--caf-dma", "ab--cd", "\xff", "", ".", "xn--", "lisboa", "a.b.c.pt", "ção"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		res := pol.CheckName(in, policy.Options{})
		if !res.Valid {
			if len(res.Violations) == 0 {
				t.Fatalf("%q invalid without a violation", in)
			}
			return
		}
		if res.Name == "" || !utf8.ValidString(res.Unicode) {
			t.Fatalf("%q valid without forms: %+v", in, res)
		}
		for _, again := range []string{res.Name, res.Unicode} {
			r2 := pol.CheckName(again, policy.Options{})
			if !r2.Valid || r2.Name != res.Name {
				t.Fatalf("%q -> %q -> %+v", in, again, r2)
			}
		}
	})
}
