package dnssec

import (
	"crypto/sha512"
	"encoding/hex"
	"go/ast"
	"go/parser"
	"go/token"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/zone"
)

// rfc5155Hashes are the hashed owner names of RFC 5155 Appendix A's
// example zone: salt AABBCCDD, 12 extra iterations.
var rfc5155Hashes = []struct{ name, hash string }{
	{"example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
	{"a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
	{"ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"},
	{"ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
	{"ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"},
	{"w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
	{"*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
	{"x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"},
	{"y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
	{"x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"},
	{"xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"},
}

// TestNSEC3HashRFC5155: the signer's hash and the verifier's, each on its
// own, give every hashed owner name of RFC 5155 Appendix A. Names are
// given in upper case too: the hash is over the canonical (lower-case)
// form.
func TestNSEC3HashRFC5155(t *testing.T) {
	salt := []byte{0xaa, 0xbb, 0xcc, 0xdd}
	hashers := map[string]func(zone.Name, uint16, []byte) [20]byte{
		"signer NSEC3Hash":   NSEC3Hash,
		"verifier ownerHash": ownerHash,
	}
	for who, hash := range hashers {
		for _, tc := range rfc5155Hashes {
			for _, text := range []string{tc.name, strings.ToUpper(tc.name)} {
				h := hash(zone.MustParseName(text), 12, salt)
				if got := base32HexLower.EncodeToString(h[:]); got != tc.hash {
					t.Errorf("%s(%s) = %s, RFC 5155 says %s", who, text, got, tc.hash)
				}
			}
		}
	}
}

// rfc8976Zones are RFC 8976 Appendix A.1 and A.2 with the digests the RFC
// gives. A.2's out-of-zone record (foo.test.) is left out: zone.Read
// refuses it, and the digest excludes it anyway (§3.3.1.1). A.2 has an
// occluded name, a wildcard, a duplicate record, upper-case names, an
// unsorted RRset and a ZONEMD below the apex, which is digested.
var rfc8976Zones = []struct{ name, text, digest string }{
	{"A.1 simple", `$ORIGIN example.
example.      86400  IN  SOA     ns1 admin 2018031900 1800 900 604800 86400
example.      86400  IN  NS      ns1
example.      86400  IN  NS      ns2
example.      86400  IN  ZONEMD  2018031900 1 1 c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c
ns1           3600   IN  A       203.0.113.63
ns2           3600   IN  AAAA    2001:db8::63
`, "c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c"},
	{"A.2 complex", `$ORIGIN example.
example.      86400  IN  SOA     ns1 admin 2018031900 1800 900 604800 86400
example.      86400  IN  NS      ns1
example.      86400  IN  NS      ns2
example.      86400  IN  ZONEMD  2018031900 1 1 a3b69bad980a3504e1cffcb0fd6397f93848071c93151f552ae2f6b1711d4bd2d8b39808226d7b9db71e34b72077f8fe
ns1           3600   IN  A       203.0.113.63
NS2           3600   IN  AAAA    2001:db8::63
occluded.sub  7200   IN  TXT     "I'm occluded but must be digested"
sub           7200   IN  NS      ns1
duplicate     300    IN  TXT     "I must be digested just once"
duplicate     300    IN  TXT     "I must be digested just once"
UPPERCASE     3600   IN  TXT     "canonicalize uppercase owner names"
*             777    IN  PTR     dont-forget-about-wildcards
mail          3600   IN  MX      20 MAIL1
mail          3600   IN  MX      10 Mail2.Example.
sortme        3600   IN  AAAA    2001:db8::5:61
sortme        3600   IN  AAAA    2001:db8::3:62
sortme        3600   IN  AAAA    2001:db8::4:63
sortme        3600   IN  AAAA    2001:db8::1:65
sortme        3600   IN  AAAA    2001:db8::2:64
non-apex      900    IN  ZONEMD  2018031900 1 1 616c6c6f776564206275742069676e6f7265642e20616c6c6f776564206275742069676e6f7265642e20616c6c6f7765
`, "a3b69bad980a3504e1cffcb0fd6397f93848071c93151f552ae2f6b1711d4bd2d8b39808226d7b9db71e34b72077f8fe"},
}

// TestZONEMDRFC8976: the signer's digest and the verifier's, each on its
// own, give the digests of RFC 8976's example zones: self-consistency
// alone would not show that ptzone digests what every other
// implementation digests.
func TestZONEMDRFC8976(t *testing.T) {
	digests := map[string]func(*zone.Zone) [sha512.Size384]byte{
		"signer ZONEMDDigest": func(z *zone.Zone) [sha512.Size384]byte { return ZONEMDDigest(z.All()) },
		"verifier zoneDigest": zoneDigest,
	}
	for _, tc := range rfc8976Zones {
		z, err := zone.Read(strings.NewReader(tc.text), zone.ReadOptions{Origin: zone.MustParseName("example.")})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for who, digest := range digests {
			if got := digest(z); hex.EncodeToString(got[:]) != tc.digest {
				t.Errorf("%s, %s: digest %x, RFC 8976 says %s", tc.name, who, got, tc.digest)
			}
		}
	}
}

// independenceZone is a small zone with what the NSEC3 chain and the
// digest must cover: signed and unsigned delegations, glue, an
// authoritative name below an empty non-terminal.
const independenceZone = `$ORIGIN pt.
@              3600   IN SOA  a.dns hostmaster.dns 1 1800 900 604800 3600
@              172800 IN NS   a.dns
@              172800 IN NS   b.dns
a.dns          172800 IN A    192.0.2.53
b.dns          172800 IN AAAA 2001:db8::53
www.registo    3600   IN A    192.0.2.80
exemplo        86400  IN NS   ns1.exemplo
ns1.exemplo    86400  IN A    198.51.100.1
exemplo        86400  IN DS   12345 13 2 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
outro          86400  IN NS   ns.hosting.net.
mais-um        86400  IN NS   ns.hosting.net.
seguro.com     86400  IN NS   ns.hosting.net.
seguro.com     86400  IN DS   54321 13 2 CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD
`

// signWithSignerMistake signs independenceZone after replacing what
// *seam points at with mistake, until the test ends: the verifier then
// runs with the mistake in place, which would hide it if the verifier
// used the signer's code.
func signWithSignerMistake[F any](t *testing.T, seam *F, mistake F, opt SignOptions) *zone.Zone {
	t.Helper()
	unsigned, err := zone.Read(strings.NewReader(independenceZone), zone.ReadOptions{Origin: zone.MustParseName("pt.")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []*Key
	for _, sep := range []bool{true, false} {
		k, err := Generate(unsigned.Origin(), GenerateOptions{SEP: sep}, opt.Now.Add(-time.Hour), keys)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if seam != nil {
		saved := *seam
		*seam = mistake
		t.Cleanup(func() { *seam = saved })
	}
	signed, err := Sign(unsigned, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func problemCodes(r *Report) []string {
	var c []string
	for _, p := range r.Problems {
		c = append(c, p.Code)
	}
	slices.Sort(c)
	return slices.Compact(c)
}

// TestVerifierRefusesSignerDigestMistake: a signer whose ZONEMD digest
// leaves out the RRSIGs makes a zone whose every signature is good, the
// ZONEMD's included; the verifier computes the digest itself and refuses
// the zone for its ZONEMD alone. Without the mistake the zone passes.
func TestVerifierRefusesSignerDigestMistake(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	opt := DefaultSignOptions(at)
	if r := Verify(signWithSignerMistake[func(iter.Seq[zone.RRset]) [sha512.Size384]byte](t, nil, nil, opt), VerifyOptions{Now: at}); !r.OK() {
		t.Fatalf("the zone signed without a mistake: %v", r.Problems)
	}
	forgetsRRSIGs := func(rrsets iter.Seq[zone.RRset]) [sha512.Size384]byte {
		return ZONEMDDigest(func(yield func(zone.RRset) bool) {
			for r := range rrsets {
				if r.Type() != zone.TypeRRSIG && !yield(r) {
					return
				}
			}
		})
	}
	signed := signWithSignerMistake(t, &signerZONEMDDigest, forgetsRRSIGs, opt)
	if got := problemCodes(Verify(signed, VerifyOptions{Now: at})); !slices.Equal(got, []string{ProblemZONEMDMismatch}) {
		t.Errorf("a ZONEMD digest without the RRSIGs: problems %v, want only %s", got, ProblemZONEMDMismatch)
	}
}

// TestVerifierRefusesSignerNSEC3Mistake: a signer whose NSEC3 hash leaves
// out the salt builds a well-formed, well-signed chain of the wrong
// hashes; the verifier hashes the names itself and finds them unproved
// and the chain's records for no name.
// Without the mistake the zone passes.
func TestVerifierRefusesSignerNSEC3Mistake(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	opt := DefaultSignOptions(at)
	opt.NSEC3 = NSEC3Params{Iterations: 1, Salt: []byte{0xaa, 0xbb, 0xcc, 0xdd}, OptOut: true}
	if r := Verify(signWithSignerMistake[func(zone.Name, uint16, []byte) [20]byte](t, nil, nil, opt), VerifyOptions{Now: at}); !r.OK() {
		t.Fatalf("the zone signed without a mistake: %v", r.Problems)
	}
	forgetsSalt := func(name zone.Name, iterations uint16, _ []byte) [20]byte { return NSEC3Hash(name, iterations, nil) }
	signed := signWithSignerMistake(t, &signerNSEC3Hash, forgetsSalt, opt)
	// Every name is missing its record and every record matches no name;
	// the signatures, the NSEC3s' included, are good.
	want := []string{ProblemNSEC3Extra, ProblemNSEC3Missing}
	if got := problemCodes(Verify(signed, VerifyOptions{Now: at})); !slices.Equal(got, want) {
		t.Errorf("an NSEC3 chain hashed without the salt: problems %v, want %v", got, want)
	}
}

// verifierFiles hold the verifier; signerFiles the signer; sharedFiles
// what both take as given (keys, algorithm numbers) and the package's
// comment. Every non-test file of the package is in exactly one of them.
var (
	verifierFiles = []string{"verify.go", "verify_nsec3.go", "verify_sigs.go", "verify_zonemd.go", "p256.go"}
	signerFiles   = []string{"sign.go", "sign_changes.go", "presign.go", "p256sign.go", "nsec3.go", "zonemd.go"}
	sharedFiles   = []string{"keys.go", "doc.go"}
)

// TestVerifierSharesNoCodeWithSigner: no verifier file names a function,
// variable, constant or type declared in a signer file, so that a mistake
// in the signer (a hash, a digest, a record's layout) is not repeated by
// the verifier that is to catch it. The verifier checks signatures with
// its own code and miekg/dns, hashes NSEC3 owner names and digests the
// zone itself.
func TestVerifierSharesNoCodeWithSigner(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		if n := btoi(slices.Contains(verifierFiles, p)) + btoi(slices.Contains(signerFiles, p)) + btoi(slices.Contains(sharedFiles, p)); n != 1 {
			t.Errorf("%s is in %d of the verifier's, the signer's and the shared files: put it in one", p, n)
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = f
	}
	signerDecl := map[string]string{} // name -> file
	for _, p := range signerFiles {
		f := files[p]
		if f == nil {
			t.Fatalf("signer file %s is missing: update signerFiles", p)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					signerDecl[d.Name.Name] = p
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						signerDecl[s.Name.Name] = p
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name != "_" {
								signerDecl[n.Name] = p
							}
						}
					}
				}
			}
		}
	}
	for _, p := range verifierFiles {
		f := files[p]
		if f == nil {
			t.Fatalf("verifier file %s is missing: update verifierFiles", p)
		}
		// Names after a dot are fields, methods or other packages'
		// identifiers, never this package's top-level ones.
		selected := map[*ast.Ident]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				selected[s.Sel] = true
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok || selected[id] {
				return true
			}
			if from, ok := signerDecl[id.Name]; ok {
				t.Errorf("%s: the verifier uses %s, the signer's (%s)", fset.Position(id.Pos()), id.Name, from)
			}
			return true
		})
	}
}
