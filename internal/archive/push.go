package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/logging"
	"github.com/pgarchive/pgarchive/internal/target"
)

// PushRequest is one dump to archive on every target.
type PushRequest struct {
	Dump        dump.Info
	Host        string
	Database    string
	Time        time.Time
	Recipients  *crypt.Recipients
	Targets     []*target.Target
	ToolVersion string
	Log         *slog.Logger
	// CheckTimeout bounds the write-once check per target (0: two
	// minutes), so a server that accepts connections and then says nothing
	// drops out instead of holding the stream to the others.
	CheckTimeout time.Duration
	// Progress, if set, is called from the copy loop with the dump bytes
	// read so far, after every chunk (32 KiB): throttle in the callback.
	Progress func(plainBytes int64)
}

// TargetResult is the outcome of a push on one target.
type TargetResult struct {
	Target string
	Err    error // nil when object and manifest are both stored
}

// PushResult is the outcome of a push on all targets.
type PushResult struct {
	Name     Name
	Manifest *Manifest // nil when the stream itself failed
	Results  []TargetResult
}

// Failed returns the results that did not store a complete archive.
func (r *PushResult) Failed() []TargetResult {
	var out []TargetResult
	for _, t := range r.Results {
		if t.Err != nil {
			out = append(out, t)
		}
	}
	return out
}

// FailedError summarises failed targets in one line, or returns nil.
func (r *PushResult) FailedError() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	parts := make([]string, len(failed))
	for i, f := range failed {
		parts[i] = fmt.Sprintf("%s: %v", f.Target, f.Err)
	}
	ok := len(r.Results) - len(failed)
	return fmt.Errorf("push %s: %d of %d targets failed (%s); the other %d hold a complete archive",
		r.Name.Object(), len(failed), len(r.Results), strings.Join(parts, "; "), ok)
}

// Push reads the dump once, encrypts it, and streams the ciphertext to every
// target at once, one stream each, then writes each target's manifest. A
// target that fails drops out without stopping the others; its partial
// object is removed (best effort) and, lacking a manifest, never counts as
// an archive. The error return is for failures before any target is
// written; per-target failures are in the result.
func Push(ctx context.Context, req PushRequest) (*PushResult, error) {
	suffix, _ := config.DumpSuffix(req.Dump.Compression)
	name, err := NewName(req.Host, req.Database, req.Time, suffix)
	if err != nil {
		return nil, err
	}
	res := &PushResult{Name: name}
	log := req.Log.With(logging.Database, req.Database, logging.Object, name.Object())

	// Write-once: a name already taken on a target (or unknowable) fails
	// that target before anything is sent.
	// All targets are asked at once, so one that answers slowly does not
	// delay the others' check.
	var live []*target.Target
	results := make(map[string]error, len(req.Targets))
	free := make([]error, len(req.Targets))
	var checks sync.WaitGroup
	for i, t := range req.Targets {
		checks.Add(1)
		go func() {
			defer checks.Done()
			free[i] = checkFree(ctx, t, name, req.CheckTimeout)
		}()
	}
	checks.Wait()
	for i, t := range req.Targets {
		if free[i] != nil {
			results[t.Name] = free[i]
			continue
		}
		live = append(live, t)
	}

	enc, err := crypt.NewEncryptor(req.Recipients, req.Dump.Size)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(req.Dump.Path)
	if err != nil {
		return nil, fmt.Errorf("open dump: %w", err)
	}
	defer f.Close()

	start := time.Now()
	log.Info("pushing", "bytes", req.Dump.Size, "targets", len(live))
	var src io.Reader = f
	if req.Progress != nil {
		src = &progressReader{r: f, fn: req.Progress}
	}
	plainSum, cipherSum, streamErr := stream(ctx, name.Object(), src, req.Dump.Size, enc, live, results)
	if streamErr != nil {
		for _, t := range live {
			if results[t.Name] == nil {
				results[t.Name] = streamErr
			}
		}
	} else {
		res.Manifest = &Manifest{
			Version:     ManifestVersion,
			Tool:        "pgarchive",
			ToolVersion: req.ToolVersion,
			Host:        req.Host,
			Database:    req.Database,
			Time:        name.Time,
			Object:      name.File(),
			Dump: DumpInfo{
				Format:      req.Dump.Format,
				Compression: req.Dump.Compression,
				Size:        req.Dump.Size,
				SHA256:      plainSum,
				File:        req.Dump.Path,
				Modified:    req.Dump.ModTime.UTC(),
			},
			Ciphertext: Digest{Size: enc.Size, SHA256: cipherSum},
			Encryption: Encryption{Kind: req.Recipients.Kind, Recipients: req.Recipients.Fingerprints},
		}
		body := res.Manifest.Marshal()
		for _, t := range live {
			if results[t.Name] != nil {
				continue
			}
			// The manifest vouches for the object: make sure it is still
			// there (a prune elsewhere may have taken it for a dead upload).
			if ok, err := t.Exists(ctx, name.Object()); err != nil || !ok {
				results[t.Name] = fmt.Errorf("object gone before its manifest was written: %v", errOr(err, errors.New("not found")))
				continue
			}
			if err := t.Put(ctx, name.Manifest(), strings.NewReader(string(body)), int64(len(body))); err != nil {
				results[t.Name] = fmt.Errorf("write manifest: %w", err)
			}
		}
	}

	for _, t := range req.Targets {
		err := results[t.Name]
		res.Results = append(res.Results, TargetResult{Target: t.Name, Err: err})
		tlog := log.With(logging.Target, t.Name)
		if err != nil {
			tlog.Error("push failed", "error", err.Error())
		} else {
			tlog.Info("pushed", "bytes", enc.Size, "duration", time.Since(start))
		}
	}
	return res, nil
}

// DefaultCheckTimeout is PushRequest.CheckTimeout's default.
const DefaultCheckTimeout = 2 * time.Minute

func checkFree(ctx context.Context, t *target.Target, name Name, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, p := range []string{name.Object(), name.Manifest()} {
		exists, err := t.Exists(ctx, p)
		if err != nil {
			return fmt.Errorf("check %s is free: %w", p, err)
		}
		if exists {
			return fmt.Errorf("%s already exists; refusing to overwrite an archive", p)
		}
	}
	return nil
}

// stream copies the dump through SHA-256 and age into one pipe per target,
// and waits for every upload to end. Per-target errors go to results; the
// returned error means the source side failed and no target can be good.
func stream(ctx context.Context, object string, src io.Reader, size int64, enc *crypt.Encryptor,
	targets []*target.Target, results map[string]error) (plainSum, cipherSum string, err error) {
	if len(targets) == 0 {
		return "", "", errors.New("no target can take the archive")
	}
	fan := newBroadcaster()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, t := range targets {
		pr, pw := io.Pipe()
		fan.add(t.Name, pw)
		wg.Add(1)
		go func(t *target.Target) {
			defer wg.Done()
			err := t.Put(ctx, object, pr, enc.Size)
			if err == nil {
				// An upload that returns before reading everything would
				// leave our writer blocked, and would be short.
				if n, _ := io.Copy(io.Discard, pr); n > 0 {
					err = fmt.Errorf("upload ended %d bytes early", n)
				}
			}
			pr.CloseWithError(errOr(err, errUploadEnded))
			if err != nil {
				mu.Lock()
				results[t.Name] = err
				mu.Unlock()
			}
		}(t)
	}

	cipherHash := sha256.New()
	cipherCount := &counter{}
	w := enc.Start(io.MultiWriter(cipherHash, cipherCount, fan))
	plainHash := sha256.New()
	n, copyErr := io.Copy(io.MultiWriter(w, plainHash), src)
	if copyErr == nil && n != size {
		copyErr = fmt.Errorf("dump changed while reading: read %d bytes, expected %d", n, size)
	}
	if copyErr == nil {
		copyErr = w.Close()
	}
	if copyErr == nil && cipherCount.n != enc.Size {
		copyErr = fmt.Errorf("internal error: ciphertext is %d bytes, announced %d", cipherCount.n, enc.Size)
	}
	fan.closeAll(copyErr)
	wg.Wait()
	if copyErr != nil {
		if errors.Is(copyErr, errNoLiveTargets) {
			return "", "", errors.New("every target failed during upload")
		}
		return "", "", fmt.Errorf("read and encrypt dump: %w", copyErr)
	}
	mu.Lock()
	for name, err := range fan.failed {
		if results[name] == nil {
			results[name] = err
		}
	}
	mu.Unlock()
	return hex.EncodeToString(plainHash.Sum(nil)), hex.EncodeToString(cipherHash.Sum(nil)), nil
}

var (
	errUploadEnded   = errors.New("upload ended")
	errNoLiveTargets = errors.New("no target is still receiving")
)

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// progressReader reports the running total of bytes read.
type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.n += int64(n)
		p.fn(p.n)
	}
	return n, err
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
