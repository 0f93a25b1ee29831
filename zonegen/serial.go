package zonegen

import (
	"errors"
	"fmt"
	"time"
)

// SerialPolicy says how serials are made.
type SerialPolicy string

// Serial policies. Each gives a serial newer than the last one in RFC
// 1982 terms, or refuses (ErrSerialBehind).
const (
	// SerialUnixTime: the publication time in seconds since 1970, or one
	// more than the last serial if that is not smaller.
	SerialUnixTime SerialPolicy = "unixtime"
	// SerialDate: YYYYMMDDnn, nn counting the day's publications; past
	// nn = 99 one more than the last serial, borrowing from the next day.
	SerialDate SerialPolicy = "dateserial"
	// SerialIncrement: one more than the last serial.
	SerialIncrement SerialPolicy = "increment"
)

// ErrSerialBehind reports a serial policy whose next value lies behind
// the last serial published or adopted further than a burst of
// publications explains: continuing would leave the policy for good, and
// going back needs steps RFC 1982 spells out.
var ErrSerialBehind = errors.New("the serial policy is behind the last serial")

// slack is how far the last serial may lie ahead of a policy's own value
// and still be followed by one more: publications within a second
// (unixtime), more than a hundred in a day (dateserial), a clock set
// back a little.
func (p SerialPolicy) slack() uint32 {
	switch p {
	case SerialUnixTime:
		return 86400
	case SerialDate:
		return 3100 // about a month of borrowed days in YYYYMMDDnn
	}
	return 0
}

// NextSerial returns the serial of the next publication: newer than prev
// in RFC 1982 serial arithmetic, so secondaries always take it, and never
// prev itself. prev 0 means no publication yet.
func NextSerial(p SerialPolicy, prev uint32, now time.Time) (uint32, error) {
	var candidate uint32
	switch p {
	case SerialUnixTime:
		candidate = uint32(now.Unix())
	case SerialDate:
		y, m, d := now.UTC().Date()
		candidate = uint32(y*1000000 + int(m)*10000 + d*100) // YYYYMMDD00
	case SerialIncrement:
		candidate = prev + 1
	default:
		return 0, fmt.Errorf("serial policy %q", p)
	}
	if prev == 0 || SerialGreater(candidate, prev) {
		if candidate == 0 {
			candidate = 1 // 0 reads as "no serial" here; RFC 1982 lets us skip it
		}
		return candidate, nil
	}
	if behind := prev - candidate; behind > p.slack() {
		return 0, fmt.Errorf("%w: %s gives %d, which RFC 1982 does not count as newer than %d; "+
			"set serial = %q for the zone to go on from %d (secondaries follow it at once)%s",
			ErrSerialBehind, p, candidate, prev, SerialIncrement, prev, p.catchUp(prev))
	}
	next := prev + 1
	if next == 0 {
		next = 1
	}
	return next, nil
}

// catchUp says when the policy's own serial passes prev, if it ever does
// in a zone's life.
func (p SerialPolicy) catchUp(prev uint32) string {
	switch p {
	case SerialUnixTime:
		return fmt.Sprintf(", and back to %q once the clock passes %s", p, time.Unix(int64(prev), 0).UTC().Format(time.RFC3339))
	case SerialDate:
		if d, err := time.Parse("20060102", fmt.Sprint(prev/100)); err == nil {
			return fmt.Sprintf(", and back to %q after %s", p, d.Format(time.DateOnly))
		}
	}
	return ""
}

// SerialGreater reports whether a > b in RFC 1982 serial arithmetic.
func SerialGreater(a, b uint32) bool {
	return a != b && a-b < 1<<31
}
