package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Violation is one rule a name breaks.
type Violation struct {
	// Code is stable: tools and translations key on it.
	Code string `json:"code"`
	// Article cites the Rules (or the RFC for pure DNS syntax).
	Article   string `json:"article"`
	Message   string `json:"message"`
	MessagePT string `json:"message_pt"`
}

// Violation codes. Each names the check that produced it.
const (
	CodeEmpty          = "syntax.empty"
	CodeUTF8           = "syntax.utf8"
	CodeTrailingDot    = "syntax.trailing-dot"
	CodeEmptyLabel     = "syntax.empty-label"
	CodeNFC            = "syntax.nfc"
	CodeUppercase      = "art8.uppercase"
	CodeLength         = "art8.length"
	CodeCharacters     = "art8.characters"
	CodeHyphenEdge     = "art8.hyphen"
	CodeDoubleHyphen   = "art9.double-hyphen"
	CodeIDNA           = "idna.invalid"
	CodeUnknownZone    = "hierarchy.unknown"
	CodeIsHierarchy    = "hierarchy.itself"
	CodeTooDeep        = "hierarchy.depth"
	CodeZoneMismatch   = "hierarchy.mismatch"
	CodeLegacyClosed   = "art41.legacy"
	CodeTLD            = "art9.tld"
	CodeReserved       = "art9.reserved"
	CodeGeographic     = "art9.geographic"
	CodeGeoNeedsAuthor = "art11.geographic"
)

// Mode says which rules apply.
type Mode int

const (
	// Registration applies every rule, as for a new registration.
	Registration Mode = iota
	// Existing applies the composition rules only (Art 8, 9.1.e, the
	// hierarchy) to a domain already registered: the prohibitions of
	// Art 9.1.b/d/f and the closure of legacy hierarchies do not reach back
	// to registrations made under earlier rules (Art 41.2-41.4).
	Existing
)

// Options qualify one name check.
type Options struct {
	// Zone is the hierarchy a bare label is checked in; "" means "pt". A
	// fully qualified input must lie in it when it is set.
	Zone string
	Mode Mode
	// GeoAuthority: the registrant is the legitimate administrative
	// authority for the place the name designates (Art 11.b).
	GeoAuthority bool
}

// Result is the verdict on one name.
type Result struct {
	Input string `json:"input"`
	// Name is the fully qualified A-label form, when one could be derived.
	Name string `json:"name,omitempty"`
	// Unicode is the fully qualified U-label form.
	Unicode    string      `json:"unicode,omitempty"`
	Zone       string      `json:"zone,omitempty"`
	Valid      bool        `json:"valid"`
	Violations []Violation `json:"violations"`
}

// idnaRegistration is IDNA2008 without any mapping (RFC 5891 section 4):
// input must already be in its registered form.
var idnaRegistration = idna.Registration

// CheckName checks one name against the Rules and returns every violation
// found, in the order the checks run: syntax, the hierarchy, Art 8, Art 9.1.e,
// IDNA2008, then the content prohibitions (Art 9.1.b, d, f, 11.b, 41.4).
// A check that cannot run because an earlier one failed is skipped rather
// than reported twice.
//
// Deliberately not checked, because no program can: words contrary to law
// or morality (Art 9.1.a), names misleading about ownership or trademarks
// (Art 9.1.c), and whether a gov.pt, org.pt or edu.pt name matches its
// registrant's designation (Art 13, 16, 18). Those are DNS.PT's assessment
// (Art 22).
func (p *Policy) CheckName(input string, opt Options) Result {
	c := nameCheck{res: Result{Input: input}}
	c.run(p, input, opt)
	c.res.Valid = len(c.res.Violations) == 0
	if c.res.Violations == nil {
		c.res.Violations = []Violation{}
	}
	return c.res
}

type nameCheck struct {
	res Result
}

func (c *nameCheck) add(code, article, en, pt string) {
	c.res.Violations = append(c.res.Violations, Violation{Code: code, Article: article, Message: en, MessagePT: pt})
}

func (c *nameCheck) run(p *Policy, input string, opt Options) {
	if input == "" {
		c.add(CodeEmpty, "RFC 1035", "the name is empty", "o nome está vazio")
		return
	}
	if !utf8.ValidString(input) {
		at := firstInvalidUTF8(input)
		c.add(CodeUTF8, "RFC 5890",
			fmt.Sprintf("the name is not valid UTF-8 (bad byte 0x%02x at byte %d)", input[at], at+1),
			fmt.Sprintf("o nome não é UTF-8 válido (byte 0x%02x inválido na posição %d)", input[at], at+1))
		return
	}
	s := input
	if strings.HasSuffix(s, ".") && strings.TrimRight(s, ".") != "" {
		c.add(CodeTrailingDot, "RFC 1035",
			fmt.Sprintf("%q ends with a dot; write it without the trailing dot", input),
			fmt.Sprintf("%q termina com um ponto; escreva-o sem o ponto final", input))
		s = strings.TrimRight(s, ".")
	}
	if !isASCII(s) && !norm.NFC.IsNormalString(s) { // ASCII is always NFC
		c.add(CodeNFC, "RFC 5891 §5.3",
			fmt.Sprintf("%q is not in Unicode normalization form C; write %q", s, norm.NFC.String(s)),
			fmt.Sprintf("%q não está na forma de normalização Unicode C; escreva %q", s, norm.NFC.String(s)))
		s = norm.NFC.String(s)
	}
	if strings.ToLower(s) != s {
		c.add(CodeUppercase, "Art 8.1",
			fmt.Sprintf("%q has uppercase letters; domain names are written in lowercase: %q", s, strings.ToLower(s)),
			fmt.Sprintf("%q tem maiúsculas; os nomes de domínio escrevem-se em minúsculas: %q", s, strings.ToLower(s)))
		s = strings.ToLower(s)
	}

	label, zone, ok := c.split(s, opt)
	if !ok {
		return
	}
	c.res.Zone = zone
	hier, known := HierarchyOf(zone)

	ulabel, alabel := c.checkLabel(label)
	if alabel != "" {
		c.res.Name = joinName(s, label, alabel, zone)
		c.res.Unicode = joinName(c.res.Name, alabel, ulabel, zone)
	}

	if opt.Mode != Registration {
		return
	}
	if known && hier.Legacy {
		c.add(CodeLegacyClosed, "Art 41.4",
			fmt.Sprintf("%s is a legacy hierarchy: its domains are kept, but it accepts no new registrations", zone),
			fmt.Sprintf("%s é uma hierarquia antiga: os seus domínios mantêm-se, mas não aceita novos registos", zone))
	}
	if alabel == "" {
		return // the content rules compare the label's registered form
	}
	if p.lists.TLDs.Contains(alabel) {
		c.add(CodeTLD, "Art 9.1.b",
			fmt.Sprintf("%q is a top-level domain of the Internet root zone", ulabel),
			fmt.Sprintf("%q é um domínio de topo da zona raiz da Internet", ulabel))
	}
	if p.lists.Reserved.Contains(alabel) {
		c.add(CodeReserved, "Art 9.1.d",
			fmt.Sprintf("%q is an Internet protocol, application or term defined by the IETF", ulabel),
			fmt.Sprintf("%q é um protocolo, aplicação ou termo da Internet definido pelo IETF", ulabel))
	}
	if p.lists.Geographic.Contains(ulabel) {
		switch {
		case zone == "com.pt":
			// Art 9.1.f: the prohibition does not apply under com.pt.
		case zone == "pt" && opt.GeoAuthority:
			// Art 11.b: the legitimate administrative authority may.
		case zone == "pt":
			c.add(CodeGeoNeedsAuthor, "Art 11.b",
				fmt.Sprintf("%q is a geographic name: directly under .pt only its legitimate administrative authority may register it (it may be registered under com.pt)", ulabel),
				fmt.Sprintf("%q é um nome geográfico: diretamente sob .pt só a entidade administrativa legítima o pode registar (pode ser registado sob com.pt)", ulabel))
		default:
			c.add(CodeGeographic, "Art 9.1.f",
				fmt.Sprintf("%q is a geographic name, not allowed under %s (only under com.pt, or under pt by its administrative authority)", ulabel, zone),
				fmt.Sprintf("%q é um nome geográfico, não permitido sob %s (só sob com.pt, ou sob pt pela entidade administrativa)", ulabel, zone))
		}
	}
}

// split separates the label being registered from its hierarchy.
func (c *nameCheck) split(s string, opt Options) (label, zone string, ok bool) {
	if s == "" || strings.Contains(s, "..") || strings.HasPrefix(s, ".") {
		c.add(CodeEmptyLabel, "RFC 1035",
			fmt.Sprintf("%q has an empty label", c.res.Input),
			fmt.Sprintf("%q tem uma etiqueta vazia", c.res.Input))
		return "", "", false
	}
	if !strings.Contains(s, ".") {
		zone = opt.Zone
		if zone == "" {
			zone = "pt"
		}
		if _, known := HierarchyOf(zone); !known {
			c.unknownZone(zone)
			return "", "", false
		}
		return s, zone, true
	}
	if _, known := HierarchyOf(s); known {
		c.add(CodeIsHierarchy, "Art 41.4",
			fmt.Sprintf("%s is a hierarchy of .pt, not a name that can be registered", s),
			fmt.Sprintf("%s é uma hierarquia de .pt, não um nome que possa ser registado", s))
		return "", "", false
	}
	zone, known := ZoneOf(s)
	if !known {
		c.unknownZone(s[strings.Index(s, ".")+1:])
		return "", "", false
	}
	if opt.Zone != "" && opt.Zone != zone {
		c.add(CodeZoneMismatch, "Art 41.4",
			fmt.Sprintf("%s is in hierarchy %s, not %s", s, zone, opt.Zone),
			fmt.Sprintf("%s pertence à hierarquia %s, não a %s", s, zone, opt.Zone))
		return "", "", false
	}
	label = s[:len(s)-len(zone)-1] // ZoneOf found s to end in "." + zone
	if strings.Contains(label, ".") {
		parent := label[strings.Index(label, ".")+1:] + "." + zone
		c.add(CodeTooDeep, "Art 41.4",
			fmt.Sprintf("%s lies below %s: names are registered directly under a hierarchy", s, parent),
			fmt.Sprintf("%s está abaixo de %s: os nomes registam-se diretamente sob uma hierarquia", s, parent))
		return "", "", false
	}
	return label, zone, true
}

func (c *nameCheck) unknownZone(zone string) {
	var open []string
	for _, h := range hierarchies {
		if !h.Legacy {
			open = append(open, h.Zone)
		}
	}
	list := strings.Join(open, ", ")
	c.add(CodeUnknownZone, "Art 41.4",
		fmt.Sprintf("%q is not a .pt hierarchy (names are registered under %s)", zone, list),
		fmt.Sprintf("%q não é uma hierarquia de .pt (os nomes registam-se sob %s)", zone, list))
}

// checkLabel applies Art 8, Art 9.1.e and IDNA2008 to one lowercase, NFC
// label, given as U-label or A-label. It returns both forms, or empty
// strings when the label has no valid registered form.
func (c *nameCheck) checkLabel(label string) (ulabel, alabel string) {
	before := len(c.res.Violations)
	ulabel = label
	isALabel := strings.HasPrefix(label, "xn--")
	if isALabel {
		u, err := idnaRegistration.ToUnicode(label)
		if err != nil || u == label {
			c.add(CodeDoubleHyphen, "Art 9.1.e",
				fmt.Sprintf("%q starts with xn--, which is allowed only for a valid IDN A-label, and this one is not: %s", label, idnaReason(err)),
				fmt.Sprintf("%q começa por xn--, permitido apenas num A-label IDN válido, e este não o é: %s", label, idnaReason(err)))
			return "", ""
		}
		ulabel = u
	}

	if n := utf8.RuneCountInString(ulabel); n < 2 || n > 63 {
		c.add(CodeLength, "Art 8.1",
			fmt.Sprintf("%q has %s; a name has between 2 and 63", ulabel, plural(n, "character", "characters")),
			fmt.Sprintf("%q tem %s; um nome tem entre 2 e 63", ulabel, plural(n, "carácter", "caracteres")))
	}
	badChars := c.checkCharacters(ulabel)
	if strings.HasPrefix(ulabel, "-") || strings.HasSuffix(ulabel, "-") {
		c.add(CodeHyphenEdge, "Art 8.3",
			fmt.Sprintf("%q starts or ends with a hyphen; the hyphen only separates words", ulabel),
			fmt.Sprintf("%q começa ou acaba em hífen; o hífen só separa palavras", ulabel))
	}
	if len(ulabel) >= 4 && ulabel[2:4] == "--" {
		c.add(CodeDoubleHyphen, "Art 9.1.e",
			fmt.Sprintf("%q has two hyphens in the third and fourth positions", ulabel),
			fmt.Sprintf("%q tem dois hífenes na terceira e quarta posições", ulabel))
	}
	if isALabel && badChars {
		c.add(CodeDoubleHyphen, "Art 9.1.e",
			fmt.Sprintf("%q: the xn-- prefix is allowed only for an IDN written with the characters of Art 8", label),
			fmt.Sprintf("%q: o prefixo xn-- só é permitido num IDN escrito com os caracteres do Art 8", label))
	}
	if len(c.res.Violations) > before {
		return "", ""
	}

	alabel = ulabel
	if !isASCII(ulabel) {
		// Length first: IDNA2008 would refuse a long label without saying why.
		if a, err := idna.Punycode.ToASCII(ulabel); err == nil && len(a) > 63 {
			c.add(CodeLength, "Art 8.1",
				fmt.Sprintf("the A-label of %q has %d octets; DNS allows at most 63", ulabel, len(a)),
				fmt.Sprintf("o A-label de %q tem %d octetos; o DNS permite no máximo 63", ulabel, len(a)))
			return "", ""
		}
		a, err := idnaRegistration.ToASCII(ulabel)
		if err != nil {
			c.add(CodeIDNA, "RFC 5891",
				fmt.Sprintf("%q is not a valid internationalized name: %s", ulabel, idnaReason(err)),
				fmt.Sprintf("%q não é um nome internacionalizado válido: %s", ulabel, idnaReason(err)))
			return "", ""
		}
		alabel = a
	}
	if isALabel && alabel != label {
		c.add(CodeIDNA, "RFC 5891",
			fmt.Sprintf("%q is not the canonical A-label of %q, which is %q", label, ulabel, alabel),
			fmt.Sprintf("%q não é o A-label canónico de %q, que é %q", label, ulabel, alabel))
		return "", ""
	}
	return ulabel, alabel
}

// portugueseLetters are the letters Art 8.2 adds to a-z (Art 8.1 omits "z"
// from its list by an evident slip; z is allowed).
const portugueseLetters = "áàâãçéêíóôõú"

func allowedRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || strings.ContainsRune(portugueseLetters, r)
}

// checkCharacters reports each character outside the Art 8 table once, and
// reports whether there was any.
func (c *nameCheck) checkCharacters(label string) bool {
	seen := map[rune]bool{}
	pos := 0
	bad := false
	for _, r := range label {
		pos++
		if allowedRune(r) {
			continue
		}
		bad = true
		if seen[r] {
			continue
		}
		seen[r] = true
		what, whatPT := describeRune(r)
		c.add(CodeCharacters, articleFor(r),
			fmt.Sprintf("%q has, at position %d, %s; allowed are a-z, 0-9, the hyphen and %s", label, pos, what, spaced(portugueseLetters)),
			fmt.Sprintf("%q tem, na posição %d, %s; são permitidos a-z, 0-9, o hífen e %s", label, pos, whatPT, spaced(portugueseLetters)))
	}
	return bad
}

// articleFor cites 8.2 for letters (the IDN table) and 8.1 otherwise.
func articleFor(r rune) string {
	if unicode.IsLetter(r) {
		return "Art 8.2"
	}
	return "Art 8.1"
}

func describeRune(r rune) (en, pt string) {
	switch {
	case r == ' ':
		return "a space (words are separated with a hyphen)", "um espaço (as palavras separam-se com hífen)"
	case r == '_':
		return "an underscore (use a hyphen)", "um sublinhado (use um hífen)"
	case unicode.IsSpace(r) || unicode.IsControl(r):
		return fmt.Sprintf("the invisible character %U", r), fmt.Sprintf("o carácter invisível %U", r)
	case unicode.IsLetter(r):
		return fmt.Sprintf("the letter %q (%U), which is not in the table of Art 8", r, r),
			fmt.Sprintf("a letra %q (%U), que não consta da tabela do Art 8", r, r)
	default:
		return fmt.Sprintf("the character %q (%U)", r, r), fmt.Sprintf("o carácter %q (%U)", r, r)
	}
}

func spaced(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// idnaReason explains an IDNA failure without echoing undecodable bytes.
func idnaReason(err error) string {
	if err == nil {
		return "it decodes to nothing"
	}
	msg := strings.TrimPrefix(err.Error(), "idna: ")
	if strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || strings.Contains(msg, `\u`) {
		return "its Punycode does not decode to a valid name"
	}
	return msg
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinName returns label + "." + zone, which is s itself when s is had +
// "." + zone and label is had: the Existing-mode checks of every zone
// build then allocate nothing for names already in their registered form.
func joinName(s, had, label, zone string) string {
	if label == had && len(s) == len(had)+1+len(zone) && s[len(had)] == '.' && s[:len(had)] == had && s[len(had)+1:] == zone {
		return s
	}
	return label + "." + zone
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// foldName is how geographic names are compared: lowercase, without
// diacritics, with only letters and digits kept.
func foldName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
