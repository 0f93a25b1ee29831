package dnssec_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/dnssec"
)

// FuzzParseDS: a parent's DS file (publish.parent_ds_file, zone adopt
// --parent-ds), however damaged, is read or refused with an error naming
// the file and line, never with a panic; what is read, written back in
// presentation form, reads as the same records.
func FuzzParseDS(f *testing.F) {
	for _, s := range []string{
		"; the root's DS for pt\npt. 86400 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n",
		"12345 13 2 01234567 89ABCDEF\n\n  ; comment\n1 8 1 0123456789abcdef0123456789abcdef01234567 ; trailing\n",
		"pt. IN DS 1 2 3\n", "65536 13 2 AB\n", "1 2 3 ABC\n", "ds DS ds 1 1 1 AA\r\n",
	} {
		f.Add([]byte(s))
	}
	const file = "ds.txt"
	f.Fuzz(func(t *testing.T, text []byte) {
		got, err := dnssec.ParseDS(text, file)
		if err != nil {
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		var back strings.Builder
		for _, ds := range got {
			fmt.Fprintf(&back, "pt. 3600 IN DS %s\n", ds)
		}
		again, err := dnssec.ParseDS([]byte(back.String()), "again")
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("%q read as %v;\nwritten back as %q it reads as %v, %v", text, got, back.String(), again, err)
		}
	})
}
