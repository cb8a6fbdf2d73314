// Package crypt turns pgarchive's [encryption] settings into age recipients
// and identities.
//
// Archives are plain age files, so anyone holding the key can open one with
// the stock age CLI. By default the host holds only public keys: X25519
// (age1...) or post-quantum hybrid (age1pq1...) recipients, never both in one
// file, because age refuses to mix them. A scrypt passphrase read from a file
// is the opt-in alternative.
//
// Fingerprints identify recipients in manifests without repeating the keys:
// the first 16 hex digits of the SHA-256 of the recipient string.
package crypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Kinds of recipient sets.
const (
	KindX25519      = "x25519"
	KindPostQuantum = "mlkem768x25519"
	KindScrypt      = "scrypt"
)

// Recipients is who an archive is encrypted to.
type Recipients struct {
	Kind         string
	Fingerprints []string
	list         []age.Recipient
}

// Age returns the recipients for age.Encrypt.
func (r *Recipients) Age() []age.Recipient { return r.list }

// Fingerprint is the short public name of a recipient string.
func Fingerprint(recipient string) string {
	sum := sha256.Sum256([]byte(recipient))
	return hex.EncodeToString(sum[:8])
}

// ParseRecipientStrings parses age recipient strings (age1... or
// age1pq1...), refusing a mix of the two kinds. where names the source for
// error messages, such as "encryption.recipients".
func ParseRecipientStrings(where string, lines []string) (*Recipients, error) {
	out := &Recipients{}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		var (
			rcpt age.Recipient
			kind string
			err  error
		)
		switch {
		case strings.HasPrefix(line, "age1pq1"):
			rcpt, err = age.ParseHybridRecipient(line)
			kind = KindPostQuantum
		case strings.HasPrefix(line, "age1"):
			rcpt, err = age.ParseX25519Recipient(line)
			kind = KindX25519
		case strings.HasPrefix(strings.ToUpper(line), "AGE-SECRET-KEY-"):
			// Never echo it: a private key pasted where a public key belongs.
			return nil, fmt.Errorf("%s[%d]: this is a private key (AGE-SECRET-KEY-...), not a recipient: give the host the public key only", where, i)
		default:
			err = errors.New("not an age recipient (age1... or age1pq1...)")
		}
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %q: %v", where, i, abbreviate(line), err)
		}
		if out.Kind != "" && out.Kind != kind {
			return nil, fmt.Errorf("%s: mixes post-quantum (age1pq1...) and X25519 (age1...) recipients; age cannot encrypt one file to both kinds: use only one kind", where)
		}
		out.Kind = kind
		out.list = append(out.list, rcpt)
		out.Fingerprints = append(out.Fingerprints, Fingerprint(line))
	}
	return out, nil
}

// abbreviate keeps error lines short (post-quantum recipients are ~2000
// characters) and shows little of a line that may be something secret
// pasted in the wrong place.
func abbreviate(s string) string {
	if len(s) > 12 {
		return s[:8] + "..."
	}
	return s
}

// CheckConfig validates the inline recipients without reading any file, for
// check-config at build time.
func CheckConfig(enc config.Encryption) error {
	if len(enc.Recipients) == 0 {
		return nil
	}
	_, err := ParseRecipientStrings("encryption.recipients", enc.Recipients)
	return err
}

// FromConfig builds the recipients for encryption: the inline recipients
// plus recipients_file, or the scrypt passphrase from passphrase_file.
func FromConfig(enc config.Encryption) (*Recipients, error) {
	if enc.PassphraseFile != "" {
		pass, err := config.ReadSecretFile(enc.PassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("encryption.passphrase_file: %w", err)
		}
		return passphraseRecipient(pass)
	}
	lines := append([]string(nil), enc.Recipients...)
	where := "encryption.recipients"
	if enc.RecipientsFile != "" {
		data, err := os.ReadFile(enc.RecipientsFile)
		if err != nil {
			return nil, fmt.Errorf("encryption.recipients_file: %w", err)
		}
		fromFile := config.Lines(data)
		if len(fromFile) == 0 {
			return nil, fmt.Errorf("encryption.recipients_file: %q holds no recipients", enc.RecipientsFile)
		}
		lines = append(lines, fromFile...)
		where = "encryption.recipients and recipients_file"
	}
	return ParseRecipientStrings(where, lines)
}

func passphraseRecipient(pass string) (*Recipients, error) {
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return nil, fmt.Errorf("encryption.passphrase_file: %w", err)
	}
	if logN := testWorkFactor(); logN > 0 {
		r.SetWorkFactor(logN)
	}
	return &Recipients{Kind: KindScrypt, Fingerprints: []string{"scrypt"}, list: []age.Recipient{r}}, nil
}

// LoadIdentities reads an age identity file (X25519 or post-quantum keys, as
// age-keygen or pgarchive keygen write them), or, with passphraseFile, builds
// a scrypt identity. Exactly one of the two must be given.
func LoadIdentities(identityFile, passphraseFile string) ([]age.Identity, error) {
	switch {
	case identityFile != "" && passphraseFile != "":
		return nil, errors.New("give --identity or --passphrase-file, not both")
	case passphraseFile != "":
		pass, err := config.ReadSecretFile(passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		id, err := age.NewScryptIdentity(pass)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		return []age.Identity{id}, nil
	case identityFile != "":
		data, err := os.ReadFile(identityFile)
		if err != nil {
			return nil, fmt.Errorf("identity file: %w", err)
		}
		ids, err := age.ParseIdentities(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("identity file %q: %v", identityFile, err)
		}
		return ids, nil
	}
	return nil, errors.New("an identity is needed to decrypt: give --identity FILE or --passphrase-file FILE")
}

// ErrNoIdentityMatched is Decrypt's error when none of the identities
// opens the file: the key is wrong, whichever copy is read.
var ErrNoIdentityMatched = errors.New("no identity matches this archive: wrong key or passphrase")

// Decrypt opens an age stream with the given identities.
func Decrypt(src io.Reader, ids []age.Identity) (io.Reader, error) {
	r, err := age.Decrypt(src, ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, ErrNoIdentityMatched
		}
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return r, nil
}

// age's payload framing (age spec, "Payload"): a 16-byte nonce, then the
// plaintext in 64 KiB chunks, each followed by a 16-byte tag. An empty
// plaintext still has one (empty) chunk.
const (
	payloadNonceSize = 16
	chunkSize        = 64 << 10
	tagSize          = 16
)

// EncryptedSize is the exact size of an age file whose header is headerSize
// bytes long and whose plaintext is plainSize bytes long.
func EncryptedSize(headerSize, plainSize int64) int64 {
	chunks := (plainSize + chunkSize - 1) / chunkSize
	if chunks == 0 {
		chunks = 1
	}
	return headerSize + payloadNonceSize + plainSize + chunks*tagSize
}

// Encryptor knows the exact size of the age file it will produce before a
// byte is sent, so uploads can declare it (S3 picks part sizes from it).
type Encryptor struct {
	// Size is the exact ciphertext size for the declared plaintext size.
	Size int64
	out  *deferredWriter
	w    io.WriteCloser
}

// NewEncryptor prepares an age encryption of plainSize bytes to r.
func NewEncryptor(r *Recipients, plainSize int64) (*Encryptor, error) {
	out := &deferredWriter{}
	w, err := age.Encrypt(out, r.list...)
	if err != nil {
		return nil, fmt.Errorf("age: %w", err)
	}
	// age.Encrypt has written the header and the payload nonce.
	headerSize := int64(out.pending.Len()) - payloadNonceSize
	return &Encryptor{Size: EncryptedSize(headerSize, plainSize), out: out, w: w}, nil
}

// Start directs the ciphertext to dst and returns the plaintext writer; the
// header reaches dst with the first write. Close the writer to finish the
// file.
func (e *Encryptor) Start(dst io.Writer) io.WriteCloser {
	e.out.dst = dst
	return &flushingCloser{e}
}

type flushingCloser struct{ e *Encryptor }

func (f *flushingCloser) Write(p []byte) (int, error) { return f.e.w.Write(p) }

func (f *flushingCloser) Close() error {
	if err := f.e.w.Close(); err != nil {
		return err
	}
	return f.e.out.flush()
}

// deferredWriter holds what is written to it until a destination is set.
type deferredWriter struct {
	pending bytes.Buffer
	dst     io.Writer
}

func (d *deferredWriter) Write(p []byte) (int, error) {
	if d.dst == nil {
		return d.pending.Write(p)
	}
	if err := d.flush(); err != nil {
		return 0, err
	}
	return d.dst.Write(p)
}

func (d *deferredWriter) flush() error {
	if d.pending.Len() == 0 || d.dst == nil {
		return nil
	}
	_, err := d.dst.Write(d.pending.Bytes())
	d.pending.Reset()
	return err
}

// Identity is a newly generated key pair for keygen.
type Identity struct {
	Secret    string
	Recipient string
}

// Generate creates an X25519 identity, or a post-quantum hybrid one with pq.
func Generate(pq bool) (Identity, error) {
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return Identity{}, err
		}
		return Identity{Secret: id.String(), Recipient: id.Recipient().String()}, nil
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return Identity{}, err
	}
	return Identity{Secret: id.String(), Recipient: id.Recipient().String()}, nil
}
