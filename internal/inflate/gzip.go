package inflate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

var (
	// ErrHeader reports a gzip member header that is not valid.
	ErrHeader = errors.New("gzip: invalid header")
	// ErrChecksum reports a member whose CRC-32 or length does not match
	// its trailer.
	ErrChecksum = errors.New("gzip: invalid checksum")

	errBufferTooSmall = errors.New("inflate: bufio.Reader smaller than 1 KiB")
)

// RFC 1952 section 2.3.1.
const (
	gzipID1     = 0x1f
	gzipID2     = 0x8b
	gzipDeflate = 8

	flagHeaderCRC = 1 << 1
	flagExtra     = 1 << 2
	flagName      = 1 << 3
	flagComment   = 1 << 4
	flagReserved  = 0xe0

	// maxHeaderString caps the file name and comment. RFC 1952 sets no
	// limit, but Go's and klauspost's readers reject longer ones as a bad
	// header and agreeing with them matters more: real names are a file's
	// base name, at most 255 bytes.
	maxHeaderString = 512
)

// GzipReader decompresses one gzip member at a time from a bufio.Reader,
// consuming exactly the member's bytes, so that the caller can tell what
// follows it: another member, the end, or garbage.
type GzipReader struct {
	br   *bufio.Reader
	d    decoder
	crc  uint32
	size uint32
	err  error
}

// Reset reads the header of the member that starts at br's position and
// prepares to decompress it. It returns io.EOF if br is at its end,
// io.ErrUnexpectedEOF if it ends inside the header, ErrHeader for a header
// that is not valid, or the reader's own error. br must buffer at least
// 1 KiB.
func (z *GzipReader) Reset(br *bufio.Reader) error {
	z.br = br
	z.crc, z.size = 0, 0
	z.d.reset(br)
	if br.Size() < minBufferSize {
		z.err = errBufferTooSmall
		return z.err
	}
	z.err = z.readHeader()
	return z.err
}

// readHeader checks the header in the order the reference readers do, so
// that a header both cut short and invalid is classified as they classify
// it: reserved flags are only looked at once the whole header is read.
func (z *GzipReader) readHeader() error {
	head, err := z.br.Peek(10)
	if len(head) < 10 {
		if len(head) == 0 && err == io.EOF {
			return io.EOF
		}
		return noEOF(err)
	}
	if head[0] != gzipID1 || head[1] != gzipID2 || head[2] != gzipDeflate {
		return ErrHeader
	}
	flags := head[3]
	digest := crc32.ChecksumIEEE(head)
	z.br.Discard(10)

	if flags&flagExtra != 0 {
		xlen, err := z.br.Peek(2)
		if len(xlen) < 2 {
			return noEOF(err)
		}
		digest = crc32.Update(digest, crc32.IEEETable, xlen)
		n := int(binary.LittleEndian.Uint16(xlen))
		z.br.Discard(2)
		for n > 0 {
			chunk, err := z.br.Peek(min(n, z.br.Size()))
			if len(chunk) == 0 {
				return noEOF(err)
			}
			digest = crc32.Update(digest, crc32.IEEETable, chunk)
			z.br.Discard(len(chunk))
			n -= len(chunk)
		}
	}
	for _, f := range [...]byte{flagName, flagComment} {
		if flags&f == 0 {
			continue
		}
		for i := 0; ; i++ {
			if i >= maxHeaderString {
				return ErrHeader
			}
			c, err := z.br.ReadByte()
			if err != nil {
				return noEOF(err)
			}
			digest = crc32.Update(digest, crc32.IEEETable, []byte{c})
			if c == 0 {
				break
			}
		}
	}
	if flags&flagHeaderCRC != 0 {
		sum, err := z.br.Peek(2)
		if len(sum) < 2 {
			return noEOF(err)
		}
		if binary.LittleEndian.Uint16(sum) != uint16(digest) {
			return ErrHeader
		}
		z.br.Discard(2)
	}
	if flags&flagReserved != 0 {
		return ErrHeader
	}
	return nil
}

func noEOF(err error) error {
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Read returns decompressed bytes. It returns io.EOF once the member's
// trailer has been read and matches, and leaves the bufio.Reader just past
// the member. Bytes returned before an error are the member's bytes up to
// the damage, as the reference reader returns them.
func (z *GzipReader) Read(p []byte) (int, error) {
	d := &z.d
	for {
		if d.rpos < d.wpos {
			n := copy(p, d.win[d.rpos:d.wpos])
			d.rpos += n
			return n, nil
		}
		if z.err != nil {
			return 0, z.err
		}
		if d.err != nil {
			z.err = d.err
			return 0, z.err
		}
		if d.state == stateDone {
			z.err = z.readTrailer()
			return 0, z.err
		}
		d.slide()
		start := d.wpos
		d.fill()
		z.crc = crc32.Update(z.crc, crc32.IEEETable, d.win[start:d.wpos])
		z.size += uint32(d.wpos - start)
	}
}

func (z *GzipReader) readTrailer() error {
	trailer, err := z.br.Peek(8)
	if len(trailer) < 8 {
		z.br.Discard(len(trailer))
		return noEOF(err)
	}
	z.br.Discard(8)
	if binary.LittleEndian.Uint32(trailer) != z.crc || binary.LittleEndian.Uint32(trailer[4:]) != z.size {
		return ErrChecksum
	}
	return io.EOF
}
