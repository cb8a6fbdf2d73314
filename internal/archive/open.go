package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"

	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/target"
)

// Open streams the plaintext of a complete archive: the dump file byte for
// byte. Sizes and SHA-256 sums of both ciphertext and plaintext are checked
// against the manifest as the stream ends; on a mismatch the final Read
// returns an error instead of io.EOF, so a consumer that runs to the end
// never takes a damaged archive as good.
func Open(ctx context.Context, t *target.Target, n Name, m *Manifest, ids []age.Identity) (io.ReadCloser, error) {
	rc, err := t.Open(ctx, n.Object())
	if err != nil {
		return nil, fmt.Errorf("open %s on %s: %w", n.Object(), t.Name, err)
	}
	cipher := &checkedReader{r: rc, h: sha256.New(), want: m.Ciphertext, what: "ciphertext"}
	plain, err := crypt.Decrypt(cipher, ids)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s on %s: %w", n.Object(), t.Name, err)
	}
	out := &checkedReader{r: plain, h: sha256.New(), want: Digest{Size: m.Dump.Size, SHA256: m.Dump.SHA256}, what: "plaintext", after: cipher}
	return &readCloser{Reader: out, close: rc.Close}, nil
}

// checkedReader hashes and counts what passes through and compares both
// with want at EOF.
type checkedReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	want  Digest
	what  string
	after *checkedReader // drained and checked too at our EOF
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		if cerr := c.check(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

func (c *checkedReader) check() error {
	if c.after != nil {
		// age stops reading at the last chunk; anything after it in the
		// object is damage too.
		if _, err := io.Copy(io.Discard, c.after); err != nil {
			return err
		}
	}
	if c.n != c.want.Size {
		return fmt.Errorf("%s is %d bytes, manifest says %d", c.what, c.n, c.want.Size)
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want.SHA256 {
		return fmt.Errorf("%s SHA-256 is %s, manifest says %s", c.what, got, c.want.SHA256)
	}
	return nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
