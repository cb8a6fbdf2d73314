package dumpcheck

import (
	"bufio"
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/pgarchive/pgarchive/internal/inflate"
)

// gzipStream decompresses gzip members one at a time, so that what follows
// a member can be told apart: another member, the end, or garbage (the
// library's own multistream mode calls garbage a bad header, and a short
// tail "unexpected EOF").
type gzipStream struct {
	br      *bufio.Reader
	zr      inflate.GzipReader
	members int
	started bool
	err     error
}

func newGzipStream(r io.Reader) *gzipStream {
	// The decompressor decodes from this buffer and consumes no byte past a
	// member's trailer.
	return &gzipStream{br: bufio.NewReaderSize(r, 64<<10)}
}

func (g *gzipStream) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	for {
		if !g.started {
			if err := g.next(); err != nil {
				g.err = err
				return 0, err
			}
			g.started = true
		}
		n, err := g.zr.Read(p)
		if err == io.EOF {
			g.members++
			g.started = false
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			g.err = gzipError(err)
			return n, g.err
		}
		return n, nil
	}
}

// next starts the next member, or ends the stream at EOF after at least
// one member.
func (g *gzipStream) next() error {
	head, err := g.br.Peek(2)
	if len(head) == 0 && err == io.EOF {
		if g.members == 0 {
			return verdict(Truncated, "gzip stream is empty")
		}
		return io.EOF
	}
	if err != nil && err != io.EOF {
		return err
	}
	if len(head) == 1 && head[0] == 0x1f {
		return verdict(Truncated, "gzip stream ends inside a member header")
	}
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		if g.members == 0 {
			return verdict(Corrupt, "not a gzip stream")
		}
		return verdict(Corrupt, "bytes after the end of the gzip stream")
	}
	if err := g.zr.Reset(g.br); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return verdict(Truncated, "gzip stream ends inside a member header")
		}
		return gzipError(err)
	}
	return nil
}

func gzipError(err error) error {
	var corrupt inflate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return verdict(Truncated, "gzip stream ends before its trailer")
	case errors.Is(err, inflate.ErrChecksum):
		return verdict(Corrupt, "gzip checksum mismatch")
	case errors.Is(err, inflate.ErrHeader):
		return verdict(Corrupt, "bad gzip member header")
	case errors.As(err, &corrupt):
		return verdict(Corrupt, "gzip data is damaged (%v)", err)
	case errors.Is(err, errAborted):
		return err
	}
	return verdict(Corrupt, "gzip stream: %v", err)
}

// zstdStream decompresses concatenated zstd frames on the calling
// goroutine, verifying each frame's checksum where it has one.
type zstdStream struct {
	in  *countingReader
	zr  *zstd.Decoder
	err error
}

// maxZstdWindow bounds the memory a frame header can ask for: zstd's
// default levels use at most 8 MiB and --long 128 MiB.
const maxZstdWindow = 1 << 27

func newZstdStream(r io.Reader) (*zstdStream, error) {
	in := &countingReader{r: r}
	zr, err := zstd.NewReader(in,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		return nil, err
	}
	return &zstdStream{in: in, zr: zr}, nil
}

func (z *zstdStream) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.zr.Read(p)
	if err == io.EOF && z.in.n == 0 {
		err = verdict(Truncated, "zstd stream is empty")
	} else if err != nil && err != io.EOF {
		err = zstdError(err)
	}
	z.err = err
	return n, err
}

func (z *zstdStream) close() { z.zr.Close() }

func zstdError(err error) error {
	switch {
	case errors.Is(err, errAborted):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return verdict(Truncated, "zstd stream ends inside a frame")
	case errors.Is(err, zstd.ErrCRCMismatch):
		return verdict(Corrupt, "zstd checksum mismatch")
	case errors.Is(err, zstd.ErrMagicMismatch):
		return verdict(Corrupt, "bytes after the end of the zstd stream, or not a zstd stream")
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return verdict(Unsupported, "zstd frame needs a window over %d MiB", maxZstdWindow>>20)
	}
	return verdict(Corrupt, "zstd stream: %v", err)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
