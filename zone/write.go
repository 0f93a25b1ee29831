package zone

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// WriteTo writes the zone in master-file format (RFC 1035 §5): one record a
// line, every name absolute, in canonical order, so that the same zone
// always gives the same bytes. Absolute names leave nothing to an $ORIGIN:
// a target can never silently become relative (.se, 2009).
func (z *Zone) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var written int64
	line := make([]byte, 0, 512)
	var owner []byte
	for i := range z.Owners() {
		owner = z.Owner(i).AppendText(owner[:0])
		for r := range z.RRsets(i) {
			typ := r.Type()
			for rd := range r.Rdata() {
				line = append(line[:0], owner...)
				line = append(line, '\t')
				line = strconv.AppendUint(line, uint64(r.TTL()), 10)
				line = append(line, "\tIN\t"...)
				line = append(line, TypeString(typ)...)
				line = append(line, '\t')
				var err error
				if line, err = AppendRdataText(line, typ, rd); err != nil {
					return written, fmt.Errorf("writing %s %s: %w", z.Owner(i), TypeString(typ), err)
				}
				line = append(line, '\n')
				n, err := bw.Write(line)
				written += int64(n)
				if err != nil {
					return written, err
				}
			}
		}
	}
	return written, bw.Flush()
}
