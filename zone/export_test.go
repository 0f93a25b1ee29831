package zone

import "io"

// ReadPlain and ReadFull expose the two parsers behind ReadInto, so that
// tests can hold them to the same result.
func ReadPlain(b *Builder, r io.Reader, opt ReadOptions) error { return readPlain(b, r, opt) }
func ReadFull(b *Builder, r io.Reader, opt ReadOptions) error  { return readFull(b, r, opt) }

var ErrNotPlain = errNotPlain

func ReadPlainParallel(b *Builder, r io.ReaderAt, size int64, opt ReadOptions, workers int) error {
	return readPlainParallel(b, r, 0, size, opt, workers)
}
