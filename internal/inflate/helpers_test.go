package inflate

import (
	"bufio"
	"bytes"
	"compress/flate"
	stdgzip "compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

// result is what reading one member yields: its bytes up to the end or the
// first error, the error's class, and the input left after it.
type result struct {
	out   []byte
	class string
	err   error
	rest  []byte
}

func readMember(data []byte, bufSize int, readSize int, reset func(*bufio.Reader) error, read func([]byte) (int, error)) result {
	br := bufio.NewReaderSize(bytes.NewReader(data), bufSize)
	var res result
	if err := reset(br); err != nil {
		res.err = err
		res.class = classify(err)
		return res
	}
	buf := make([]byte, readSize)
	for {
		n, err := read(buf)
		res.out = append(res.out, buf[:n]...)
		if err == io.EOF {
			res.class = "ok"
			res.rest, _ = io.ReadAll(br)
			return res
		}
		if err != nil {
			res.err = err
			res.class = classify(err)
			return res
		}
	}
}

func mine(data []byte, bufSize, readSize int) result {
	var z GzipReader
	return readMember(data, bufSize, readSize, z.Reset, z.Read)
}

// memberReader is what klauspost's and the standard library's gzip
// readers share.
type memberReader interface {
	Reset(io.Reader) error
	Multistream(bool)
	Read([]byte) (int, error)
}

func readOneMember(z memberReader, data []byte, bufSize, readSize int) result {
	return readMember(data, bufSize, readSize, func(br *bufio.Reader) error {
		if err := z.Reset(br); err != nil {
			return err
		}
		z.Multistream(false)
		return nil
	}, z.Read)
}

func reference(data []byte, bufSize, readSize int) result {
	return readOneMember(new(kgzip.Reader), data, bufSize, readSize)
}

// standard reads with the Go standard library, the second opinion where
// klauspost goes astray (see compare).
func standard(data []byte, bufSize, readSize int) result {
	return readOneMember(new(stdgzip.Reader), data, bufSize, readSize)
}

func classify(err error) string {
	var mineCorrupt CorruptInputError
	var refCorrupt kflate.CorruptInputError
	var stdCorrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	case errors.Is(err, ErrHeader), errors.Is(err, kgzip.ErrHeader), errors.Is(err, stdgzip.ErrHeader):
		return "header"
	case errors.Is(err, ErrChecksum), errors.Is(err, kgzip.ErrChecksum), errors.Is(err, stdgzip.ErrChecksum):
		return "checksum"
	case errors.As(err, &mineCorrupt), errors.As(err, &refCorrupt), errors.As(err, &stdCorrupt):
		return "corrupt"
	}
	return "other: " + err.Error()
}

// compare checks that this package agrees with klauspost on data; it
// returns a description of the first difference, or "".
//
// Where they differ, the standard library, whose decoder klauspost's
// derives from, decides. That covers one known klauspost bug: a dynamic
// block whose code length code has no codewords at all is invalid (RFC
// 1951 gives no way to decode its code lengths), and this package and the
// standard library say so, but klauspost decodes the lengths with whatever
// table its previous block left behind (it does not clear its reused table
// for an empty code), and so reports truncation, a damaged stream later,
// or an internal error.
func compare(data []byte, bufSize, readSize int) string {
	got := mine(data, bufSize, readSize)
	d := differ(got, reference(data, bufSize, readSize))
	if d != "" && differ(got, standard(data, bufSize, readSize)) == "" {
		return ""
	}
	return d
}

func differ(got, want result) string {
	if got.class != want.class {
		return fmt.Sprintf("class %s (%v), reference %s (%v)", got.class, got.err, want.class, want.err)
	}
	if !bytes.Equal(got.out, want.out) {
		return fmt.Sprintf("output differs: %d bytes, reference %d bytes, first difference at %d",
			len(got.out), len(want.out), firstDiff(got.out, want.out))
	}
	if got.class == "ok" && !bytes.Equal(got.rest, want.rest) {
		return fmt.Sprintf("left %d bytes after the member, reference %d", len(got.rest), len(want.rest))
	}
	return ""
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func gzipKlauspost(t testing.TB, plain []byte, level int) []byte {
	return gzipWith(t, plain, level, kgzip.NewWriterLevel)
}

// gzipWith compresses plain with a gzip library's writer.
func gzipWith[W io.WriteCloser](t testing.TB, plain []byte, level int, newWriter func(io.Writer, int) (W, error)) []byte {
	var b bytes.Buffer
	w, err := newWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	return b.Bytes()
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// base64Lines is what `base64` prints: 76 characters a line.
func base64Lines(raw []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(raw)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.Bytes()
}

// copyRows is COPY text of a plain dump: sequential ids, repeated words,
// timestamps; gzip shrinks it about 5x.
func copyRows(seed uint64, size int) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := []string{"delivered", "pending", "returned", "express", "standard", "gift wrap",
		"call before delivery", "leave at the door", "fragile", "priority", "\\N", "paid by card"}
	var b bytes.Buffer
	b.WriteString("COPY public.orders (id, customer, total, placed, status, note) FROM stdin;\n")
	for id := 1; b.Len() < size; id++ {
		fmt.Fprintf(&b, "%d\t%d\t%d.%02d\t2024-%02d-%02d %02d:%02d:%02d+00\t%s\t%s\n",
			id, 1000+rng.IntN(50000), rng.IntN(5000), rng.IntN(100), 1+id/200000%12, 1+id/7000%28,
			rng.IntN(24), rng.IntN(60), rng.IntN(60), words[rng.IntN(4)], words[4+rng.IntN(len(words)-4)])
	}
	b.WriteString("\\.\n")
	return b.Bytes()[:size]
}
