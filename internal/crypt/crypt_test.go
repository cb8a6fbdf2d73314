package crypt

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/config"
)

func generate(t *testing.T, pq bool) Identity {
	t.Helper()
	id, err := Generate(pq)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The announced size must match what age really writes, or S3 multipart
// uploads of large dumps would be cut short or fail.
func TestEncryptorSizeIsExact(t *testing.T) {
	x := generate(t, false)
	pq := generate(t, true)
	lowerWorkFactor(t)
	sets := map[string]*Recipients{}
	var err error
	if sets["x25519"], err = ParseRecipientStrings("r", []string{x.Recipient, generate(t, false).Recipient}); err != nil {
		t.Fatal(err)
	}
	if sets["pq"], err = ParseRecipientStrings("r", []string{pq.Recipient}); err != nil {
		t.Fatal(err)
	}
	if sets["scrypt"], err = passphraseRecipient("correct horse"); err != nil {
		t.Fatal(err)
	}
	for name, r := range sets {
		for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize, 200_001} {
			plain := make([]byte, n)
			rand.Read(plain)
			enc, err := NewEncryptor(r, int64(n))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			w := enc.Start(&out)
			if _, err := w.Write(plain); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if int64(out.Len()) != enc.Size {
				t.Errorf("%s, %d bytes: announced %d, wrote %d", name, n, enc.Size, out.Len())
			}
		}
	}
}

func TestRoundTripEachKind(t *testing.T) {
	lowerWorkFactor(t)
	x, pq := generate(t, false), generate(t, true)
	cases := []struct {
		name     string
		enc      config.Encryption
		identity string
		pass     string
		kind     string
	}{
		{"x25519", config.Encryption{Recipients: []string{x.Recipient}}, x.Secret, "", KindX25519},
		{"post-quantum", config.Encryption{Recipients: []string{pq.Recipient}}, pq.Secret, "", KindPostQuantum},
		{"recipients file", config.Encryption{RecipientsFile: writeFile(t, "# team key\n\n"+x.Recipient+"\n")}, x.Secret, "", KindX25519},
		{"passphrase", config.Encryption{PassphraseFile: writeFile(t, "s3cret pass\n")}, "", "s3cret pass\n", KindScrypt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := FromConfig(tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", r.Kind, tc.kind)
			}
			plain := []byte(strings.Repeat("COPY public.t FROM stdin;\n", 5000))
			enc, err := NewEncryptor(r, int64(len(plain)))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			w := enc.Start(&out)
			w.Write(plain)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var idFile, passFile string
			if tc.identity != "" {
				idFile = writeFile(t, tc.identity+"\n")
			} else {
				passFile = writeFile(t, tc.pass)
			}
			ids, err := LoadIdentities(idFile, passFile)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := Decrypt(&out, ids)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(dec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Error("plaintext differs after round trip")
			}
		})
	}
}

func TestWrongIdentityIsClear(t *testing.T) {
	x, other := generate(t, false), generate(t, false)
	r, _ := ParseRecipientStrings("r", []string{x.Recipient})
	enc, _ := NewEncryptor(r, 3)
	var out bytes.Buffer
	w := enc.Start(&out)
	w.Write([]byte("abc"))
	w.Close()
	ids, err := LoadIdentities(writeFile(t, other.Secret), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decrypt(&out, ids)
	if err == nil || !strings.Contains(err.Error(), "no identity matches") {
		t.Fatalf("err = %v", err)
	}
}

func TestRecipientErrors(t *testing.T) {
	x, pq := generate(t, false), generate(t, true)
	tests := []struct {
		name     string
		lines    []string
		contains string
		leaks    string
	}{
		{"mix of kinds", []string{x.Recipient, pq.Recipient}, "mixes post-quantum", ""},
		{"mix, pq first", []string{pq.Recipient, x.Recipient}, "mixes post-quantum", ""},
		{"private key pasted", []string{x.Secret}, "private key", x.Secret},
		{"private key pasted in lower case", []string{strings.ToLower(x.Secret)}, "private key", strings.ToLower(x.Secret)},
		{"garbage", []string{"ssh-ed25519 AAAA"}, "not an age recipient", ""},
		{"bad checksum", []string{flipLast(x.Recipient)}, "encryption.recipients[0]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecipientStrings("encryption.recipients", tt.lines)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q lacks %q", err, tt.contains)
			}
			if tt.leaks != "" && strings.Contains(err.Error(), tt.leaks[10:]) {
				t.Errorf("error leaks the secret: %q", err)
			}
		})
	}
}

func TestSecretFileErrorsNeverShowContent(t *testing.T) {
	empty := writeFile(t, "\n")
	if _, err := config.ReadSecretFile(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty secret: %v", err)
	}
	if _, err := config.ReadSecretFile("/nonexistent/pass"); err == nil || !strings.Contains(err.Error(), "/nonexistent/pass") {
		t.Errorf("missing secret: %v", err)
	}
	bad := writeFile(t, "AGE-SECRET-KEY-1NOTAREALKEYATALL\n")
	_, err := LoadIdentities(bad, "")
	if err == nil || strings.Contains(err.Error(), "NOTAREALKEY") {
		t.Errorf("bad identity error leaks or is missing: %v", err)
	}
}

// lowerWorkFactor keeps passphrase tests fast without the test build's
// environment hook.
func lowerWorkFactor(t *testing.T) {
	old := workFactorForTests
	workFactorForTests = 4
	t.Cleanup(func() { workFactorForTests = old })
}

// flipLast changes the last character of a bech32 string to another one of
// its alphabet, so the checksum no longer matches (replacing it with a fixed
// letter left a key ending in that letter unchanged, 1 run in 32).
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('q')
	if last == 'q' {
		repl = 'p'
	}
	return s[:len(s)-1] + string(repl)
}
