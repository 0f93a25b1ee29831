package daemon

import (
	"strconv"
	"strings"
)

// keyLineIndex maps each setting of a TOML file, written as its keys
// joined by dots (zone.com.pt.soa.expire, tsig.0.name for the first
// [[tsig]]), to the line that sets it. The decoder keeps positions to
// itself, and a check that finds two settings at odds must still point
// the operator at a line.
type keyLineIndex map[string]int

// of returns the line of key, or of the nearest table holding it; 0 when
// the file says nothing of it (a default).
func (ix keyLineIndex) of(key string) int {
	for key != "" {
		if l, ok := ix[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

// keyLines indexes text. It reads table headers and "key =" lines only,
// enough to place a setting, and is no parser: toml.Decode has accepted
// the file before anyone asks.
func keyLines(text string) keyLineIndex {
	ix := keyLineIndex{}
	note := func(path []string, line int) {
		k := strings.Join(path, ".")
		if _, ok := ix[k]; !ok {
			ix[k] = line
		}
	}
	var table []string
	arrays := map[string]int{}
	depth := 0 // open brackets of a multi-line array
	for i, raw := range strings.Split(text, "\n") {
		line := i + 1
		l := strings.TrimSpace(raw)
		if depth > 0 {
			depth += bracketBalance(l)
			continue
		}
		switch {
		case l == "" || l[0] == '#':
		case strings.HasPrefix(l, "[["):
			end := strings.Index(l, "]]")
			if end < 0 {
				continue
			}
			segs := splitKey(l[2:end])
			base := strings.Join(segs, ".")
			n := arrays[base]
			arrays[base]++
			note(segs, line)
			table = append(segs, strconv.Itoa(n))
			note(table, line)
		case l[0] == '[':
			end := indexOutsideQuotes(l, ']')
			if end < 0 {
				continue
			}
			table = splitKey(l[1:end])
			note(table, line)
		default:
			eq := indexOutsideQuotes(l, '=')
			if eq < 0 {
				continue
			}
			note(append(append([]string(nil), table...), splitKey(l[:eq])...), line)
			depth = bracketBalance(l[eq+1:])
		}
	}
	return ix
}

// splitKey splits a dotted TOML key into its parts, unquoting them.
func splitKey(k string) []string {
	var out []string
	var cur strings.Builder
	quote := byte(0)
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c != ' ' && c != '\t':
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// indexOutsideQuotes is the index of the first c outside quotes, or -1.
func indexOutsideQuotes(s string, c byte) int {
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote != 0:
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == '#':
			return -1
		case s[i] == c:
			return i
		}
	}
	return -1
}

// bracketBalance counts the [ and { a line opens minus those it closes,
// outside strings and comments.
func bracketBalance(s string) int {
	n := 0
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0 && c == '\\' && quote == '"':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return n
		case c == '[' || c == '{':
			n++
		case c == ']' || c == '}':
			n--
		}
	}
	return n
}
