package dumpcheck

import (
	"errors"
	"io"
	"sync"
)

// bufSize and nBufs bound what a Checker holds: Write batches bytes into
// bufSize buffers so the channel sees few, large sends, and blocks once
// nBufs of them wait for the checker.
const (
	bufSize = 256 << 10
	nBufs   = 8
)

var (
	errAborted    = errors.New("dump check aborted")
	errWriteAfter = errors.New("dumpcheck: write after close")
)

// Checker judges one dump from its bytes as stored. It is an io.Writer, so
// it can sit in an io.MultiWriter beside the hash and the encryptor; the
// check runs on a goroutine of its own. Write and Close belong to one
// goroutine; Abort may come from any.
type Checker struct {
	full  chan []byte   // filled buffers, in order, to the checker
	free  chan []byte   // emptied buffers, back to Write
	done  chan struct{} // closed when the checker has its verdict
	abort chan struct{} // closed by Abort

	cur       []byte // the buffer Write fills
	allocated int
	closed    bool
	abortOnce sync.Once

	res Result // valid once done is closed
	err error
}

// New returns a Checker for a dump with the given compression ("gzip",
// "zstd" or "none") and format (dump.FormatPlain, dump.FormatCustom,
// dump.FormatTar or dump.FormatCluster), and starts its goroutine. Call
// Close for the verdict, or Abort.
func New(compression, format string) *Checker {
	c := &Checker{
		full:  make(chan []byte, nBufs),
		free:  make(chan []byte, nBufs),
		done:  make(chan struct{}),
		abort: make(chan struct{}),
	}
	go c.run(compression, format)
	return c
}

func (c *Checker) run(compression, format string) {
	defer close(c.done)
	c.res, c.err = check(&chanReader{c: c}, compression, format)
}

// Write takes the next bytes of the dump as stored (compressed). It copies
// p, so the caller may reuse it at once, and blocks only while the checker
// is behind. It never fails for what the bytes hold: Close says that. Once
// the checker has found the dump bad, Write drops what it is given.
func (c *Checker) Write(p []byte) (int, error) {
	if c.closed {
		return 0, errWriteAfter
	}
	n := len(p)
	for len(p) > 0 {
		if c.cur == nil {
			buf, ok := c.getBuf()
			if !ok {
				return n, nil // verdict reached or aborted: the rest is moot
			}
			c.cur = buf[:0]
		}
		k := copy(c.cur[len(c.cur):cap(c.cur)], p)
		c.cur = c.cur[:len(c.cur)+k]
		p = p[k:]
		if len(c.cur) == cap(c.cur) && !c.flush() {
			return n, nil
		}
	}
	return n, nil
}

func (c *Checker) getBuf() ([]byte, bool) {
	select {
	case b := <-c.free:
		return b, true
	default:
	}
	if c.allocated < nBufs {
		c.allocated++
		return make([]byte, bufSize), true
	}
	select {
	case b := <-c.free:
		return b, true
	case <-c.done:
		return nil, false
	case <-c.abort:
		return nil, false
	}
}

// flush hands the current buffer to the checker; false when the checker no
// longer reads.
func (c *Checker) flush() bool {
	b := c.cur
	c.cur = nil
	if len(b) == 0 {
		c.free <- b[:cap(b)]
		return true
	}
	select {
	case c.full <- b:
		return true
	case <-c.done:
		return false
	case <-c.abort:
		return false
	}
}

// Close ends the input and waits for the verdict. A nil error means the
// dump is whole; otherwise the error (an *Error for a bad dump) is one
// line saying what is wrong. Close may be called again and returns the
// same.
func (c *Checker) Close() (Result, error) {
	if !c.closed {
		c.closed = true
		if c.cur != nil {
			c.flush()
		}
		close(c.full)
	}
	<-c.done
	select {
	case <-c.abort:
		return Result{}, errAborted
	default:
	}
	return c.res, c.err
}

// Abort stops the checker without a verdict, for a push that failed for
// another reason, and waits for its goroutine to end. It is safe to call
// after Close, and more than once.
func (c *Checker) Abort() {
	c.abortOnce.Do(func() { close(c.abort) })
	<-c.done
}

// chanReader is the checker goroutine's view of what Write sends.
type chanReader struct {
	c   *Checker
	buf []byte // the buffer being read, to go back to free when done
	off int
}

func (r *chanReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.buf != nil {
			r.c.free <- r.buf[:cap(r.buf)]
			r.buf, r.off = nil, 0
		}
		select {
		case b, ok := <-r.c.full:
			if !ok {
				return 0, io.EOF
			}
			r.buf, r.off = b, 0
		case <-r.c.abort:
			return 0, errAborted
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}
