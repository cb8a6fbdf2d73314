package archive

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/target"
)

// BenchmarkPush measures the whole push pipeline (read, SHA-256, age,
// fan-out, rclone's local backend) for one and three local targets:
//
//	go test -run '^$' -bench Push -benchtime 5x ./internal/archive/
func BenchmarkPush(b *testing.B) {
	const size = 64 << 20
	dir := b.TempDir()
	path := filepath.Join(dir, "db.sql")
	data := make([]byte, size)
	rand.Read(data)
	copy(data, "--\n-- PostgreSQL database dump\n--\n")
	tail := "\n--\n-- PostgreSQL database dump complete\n--\n\n"
	copy(data[size-len(tail):], tail)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	id, _ := crypt.Generate(false)
	rcpts, err := crypt.ParseRecipientStrings("r", []string{id.Recipient})
	if err != nil {
		b.Fatal(err)
	}
	info, err := dump.Inspect(path, "none", 0, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			b.SetBytes(size)
			i := 0
			for b.Loop() {
				var targets []*target.Target
				for j := range n {
					root := filepath.Join(dir, fmt.Sprintf("n%d-run%d-%d", n, i, j))
					if err := os.Mkdir(root, 0o700); err != nil {
						b.Fatal(err)
					}
					t, err := target.Open(context.Background(), fmt.Sprintf("t%d", j),
						config.Target{Type: "local", Path: root}, config.Rclone{})
					if err != nil {
						b.Fatal(err)
					}
					targets = append(targets, t)
				}
				i++
				res, err := Push(context.Background(), PushRequest{Dump: info, Host: "h", Database: "db",
					Time: time.Unix(int64(i), 0), Recipients: rcpts, Targets: targets, Log: log})
				if err != nil || res.FailedError() != nil {
					b.Fatal(err, res.FailedError())
				}
			}
		})
	}
}
