package zone

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
)

// WriteTo writes the zone in master-file format (RFC 1035 §5): one record a
// line, every name absolute, in canonical order, so that the same zone
// always gives the same bytes. Absolute names leave nothing to an $ORIGIN:
// a target can never silently become relative (.se, 2009).
//
// Every line stands alone, so runs of owners are formatted on all cores
// and written in order: a TLD zone is millions of lines, and formatting
// them one after another took longer than the disk.
func (z *Zone) WriteTo(w io.Writer) (int64, error) {
	const perSegment = 8192 // owners: a few hundred kilobytes of text
	segments := (z.Owners() + perSegment - 1) / perSegment
	workers := max(1, min(runtime.GOMAXPROCS(0), segments))

	type result struct {
		text []byte
		err  error
	}
	type job struct {
		segment int
		out     chan result
	}
	// The dispatcher queues each segment's result channel in order, at
	// most a few segments ahead of the writer, which bounds the text held
	// in memory; buffers the writer is done with are formatted into again.
	pending := make(chan chan result, 2*workers)
	jobs := make(chan job)
	free := make(chan []byte, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var buf []byte
				select {
				case buf = <-free:
				default:
				}
				lo := j.segment * perSegment
				text, err := z.appendText(buf[:0], lo, min(lo+perSegment, z.Owners()))
				j.out <- result{text, err}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(pending)
		for i := range segments {
			out := make(chan result, 1)
			select {
			case pending <- out:
			case <-stop:
				return
			}
			select {
			case jobs <- job{i, out}:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	var written int64
	for out := range pending {
		r := <-out
		if r.err != nil {
			return written, r.err
		}
		n, err := w.Write(r.text)
		written += int64(n)
		if err != nil {
			return written, err
		}
		select {
		case free <- r.text:
		default:
		}
	}
	return written, nil
}

// AppendOwnerText appends the master-file lines of owner i, as WriteTo
// writes them.
func (z *Zone) AppendOwnerText(buf []byte, i int) ([]byte, error) {
	return z.appendText(buf, i, i+1)
}

// appendText appends the lines of owners [lo, hi).
func (z *Zone) appendText(buf []byte, lo, hi int) ([]byte, error) {
	var owner []byte
	for i := lo; i < hi; i++ {
		owner = z.Owner(i).AppendText(owner[:0])
		for r := range z.RRsets(i) {
			typ := r.Type()
			for rd := range r.Rdata() {
				buf = append(buf, owner...)
				buf = append(buf, '\t')
				buf = strconv.AppendUint(buf, uint64(r.TTL()), 10)
				buf = append(buf, "\tIN\t"...)
				buf = append(buf, TypeString(typ)...)
				buf = append(buf, '\t')
				var err error
				if buf, err = AppendRdataText(buf, typ, rd); err != nil {
					return buf, fmt.Errorf("writing %s %s: %w", z.Owner(i), TypeString(typ), err)
				}
				buf = append(buf, '\n')
			}
		}
	}
	return buf, nil
}
