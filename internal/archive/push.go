package archive

import (
	"bytes"
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
	"github.com/pgarchive/pgarchive/internal/dumpcheck"
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
	// CheckTimeout bounds the write-once check and the manifest write per
	// target (0: two minutes), so a server that accepts connections and
	// then says nothing drops out instead of holding up the others.
	CheckTimeout time.Duration
	// StallTimeout drops a target whose upload takes no data for this long
	// (0: DefaultStallTimeout), so the others finish.
	StallTimeout time.Duration
	// Progress, if set, is called from the copy loop with the dump bytes
	// read so far, after every chunk (32 KiB): throttle in the callback.
	Progress func(plainBytes int64)
}

// TargetResult is the outcome of a push on one target.
type TargetResult struct {
	Target string
	Err    error // nil when object and manifest are both stored
	// ClockBehind is how far the newest archive already on the target is
	// stamped after this one: the host clock went back.
	ClockBehind time.Duration
	// Lock is the object lock the archive got there; nil if none.
	Lock *target.Lock
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
	if ok == 0 {
		return fmt.Errorf("push %s: every target failed (%s); no target holds this archive",
			r.Name.Object(), strings.Join(parts, "; "))
	}
	return fmt.Errorf("push %s: %d of %d targets failed (%s); the other %d hold a complete archive",
		r.Name.Object(), len(failed), len(r.Results), strings.Join(parts, "; "), ok)
}

// Push reads the dump once, checks that it is whole while it encrypts it,
// and streams the ciphertext to every target at once, one stream each; then
// it writes each target's manifest once the object there is confirmed to
// be the one this push wrote. A target that fails or stalls drops out
// without stopping the others; its partial object is removed (best effort)
// and, lacking a manifest, never counts as an archive.
//
// A dump that fails its content check, or that changes while it is read,
// is committed nowhere: every upload is aborted, and Push returns the
// result (every target failed) with that error. Any other error return
// comes before a target was written; per-target failures are in the
// result.
func Push(ctx context.Context, req PushRequest) (*PushResult, error) {
	suffix, _ := config.DumpSuffix(req.Dump.Compression)
	name, err := NewName(req.Host, req.Database, req.Time, suffix)
	if err != nil {
		return nil, err
	}
	res := &PushResult{Name: name}
	log := req.Log.With(logging.Database, req.Database, logging.Object, name.Object())

	f, err := os.Open(req.Dump.Path)
	if err != nil {
		return nil, fmt.Errorf("open dump: %w", err)
	}
	defer f.Close()
	before, err := fileStamp(f)
	if err != nil {
		return nil, err
	}
	if diff := req.Dump.Stamp.Diff(before); diff != "" {
		return nil, fmt.Errorf("dump %q changed since it was inspected (%s): is a dump still being written?", req.Dump.Path, diff)
	}

	// Write-once: a name already taken on a target (or unknowable) fails
	// that target before anything is sent. All targets are asked at once,
	// so one that answers slowly does not delay the others' check.
	var live []*target.Target
	results := make(map[string]error, len(req.Targets))
	free := make([]error, len(req.Targets))
	newest := make([]time.Time, len(req.Targets))
	var checks sync.WaitGroup
	for i, t := range req.Targets {
		checks.Add(1)
		go func() {
			defer checks.Done()
			free[i], newest[i] = checkFree(ctx, t, name, req.CheckTimeout)
		}()
	}
	checks.Wait()
	behind := make(map[string]time.Duration, len(req.Targets))
	for i, t := range req.Targets {
		if newest[i].After(name.Time) {
			behind[t.Name] = newest[i].Sub(name.Time)
			log.Warn("host clock is behind the newest archive on the target: check the clock (timedatectl)",
				logging.Target, t.Name, "newest", newest[i].Format(TimeLayout))
		}
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

	start := time.Now()
	log.Info("pushing", "bytes", req.Dump.Size, "targets", len(live))
	var src io.Reader = f
	if req.Progress != nil {
		src = &progressReader{r: f, fn: req.Progress}
	}
	sums, stalled, streamErr := stream(ctx, streamRequest{
		object: name.Object(), src: src, file: f, path: req.Dump.Path, before: before,
		dump: req.Dump, enc: enc, targets: live, stall: req.StallTimeout,
	}, results)
	if streamErr != nil {
		for _, t := range live {
			results[t.Name] = streamErr
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
				SHA256:      sums.plain,
				File:        req.Dump.Path,
				Modified:    req.Dump.ModTime.UTC(),
				Check:       &ContentCheck{Passed: true, Checked: sums.check.Check},
			},
			Ciphertext: Digest{Size: enc.Size, SHA256: sums.cipher},
			Encryption: Encryption{Kind: req.Recipients.Kind, Recipients: req.Recipients.Fingerprints},
		}
		body := res.Manifest.Marshal()
		var commits sync.WaitGroup
		var mu sync.Mutex
		for _, t := range live {
			if results[t.Name] != nil {
				continue
			}
			commits.Add(1)
			go func() {
				defer commits.Done()
				err := commit(ctx, t, name, lockedBody(res.Manifest, body, t), req.CheckTimeout)
				mu.Lock()
				results[t.Name] = err
				mu.Unlock()
			}()
		}
		commits.Wait()
	}

	for _, t := range req.Targets {
		err := results[t.Name]
		tres := TargetResult{Target: t.Name, Err: err, ClockBehind: behind[t.Name]}
		if l, ok := t.Lock(); ok && err == nil {
			tres.Lock = &l
		}
		res.Results = append(res.Results, tres)
		tlog := log.With(logging.Target, t.Name)
		if err != nil {
			tlog.Error("push failed", "error", err.Error())
		} else {
			tlog.Info("pushed", "bytes", enc.Size, "duration", time.Since(start))
		}
	}
	// A stalled upload's clean-up (removing its partial object) gets a
	// bounded time: some uploads never return (a write blocked in the
	// kernel on a hung mount or a full TCP window).
	grace := time.After(uploadGrace)
	for _, done := range stalled {
		select {
		case <-done:
		case <-grace:
		}
	}
	if streamErr != nil && !errors.Is(streamErr, errEveryTargetFailed) {
		return res, streamErr
	}
	return res, nil
}

// commit writes the manifest that makes the archive count, once the object
// on t is confirmed to be the one this push wrote. It is bounded by
// timeout, like the write-once check: a manifest is small, so a target that
// takes longer has stopped answering.
func commit(ctx context.Context, t *target.Target, name Name, body []byte, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := t.Put(ctx, name.Manifest(), bytes.NewReader(body), int64(len(body))); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// DefaultCheckTimeout is PushRequest.CheckTimeout's default.
const DefaultCheckTimeout = 2 * time.Minute

// checkFree reports whether the archive's names are free on t, and the
// stamp of the newest archive of the database already there (zero if
// none), which tells whether the host clock went backwards.
func checkFree(ctx context.Context, t *target.Target, name Name, timeout time.Duration) (error, time.Time) {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	entries, err := t.List(ctx, DatabaseDir(name.Host, name.Database))
	if err != nil {
		return fmt.Errorf("check %s is free: %w", name.Object(), err), time.Time{}
	}
	var newest time.Time
	for _, e := range entries {
		if e.Path == name.Object() || e.Path == name.Manifest() {
			return fmt.Errorf("%s already exists; refusing to overwrite an archive", e.Path), time.Time{}
		}
		if n, err := ParseObject(e.Path); err == nil && n.Time.After(newest) {
			newest = n.Time
		}
	}
	return nil, newest
}

// streamRequest is what stream reads, and where it sends it.
type streamRequest struct {
	object  string
	src     io.Reader // the dump file, maybe wrapped for progress
	file    *os.File  // the dump file itself, to stamp after the read
	path    string
	before  dump.Stamp
	dump    dump.Info
	enc     *crypt.Encryptor
	targets []*target.Target
	stall   time.Duration
}

// streamSums is what stream learned about the bytes it moved.
type streamSums struct {
	plain, cipher string // SHA-256, hex
	check         dumpcheck.Result
}

// uploadGrace is how long Push waits, after the other targets committed,
// for a stalled target's upload to end and remove its partial object.
var uploadGrace = 10 * time.Second

// stream copies the dump through SHA-256, the content check and age into
// one pipe per target, and waits for every upload to end. Per-target
// errors go to results; the returned error means the source side failed
// (or the dump is not whole) and no target can be good.
func stream(ctx context.Context, req streamRequest, results map[string]error) (sums streamSums, stalled []<-chan struct{}, err error) {
	if len(req.targets) == 0 {
		return streamSums{}, nil, errEveryTargetFailed
	}
	fan := newBroadcaster(req.stall)
	type upload struct {
		t    *target.Target
		out  *broadcastOut
		done chan struct{}
		err  error // set before done is closed
	}
	uploads := make([]*upload, len(req.targets))
	for i, t := range req.targets {
		pr, pw := io.Pipe()
		tctx, cancel := context.WithCancel(ctx)
		u := &upload{t: t, done: make(chan struct{})}
		u.out = fan.add(t.Name, pw, cancel)
		uploads[i] = u
		go func() {
			defer close(u.done)
			defer cancel()
			err := t.Put(tctx, req.object, pr, req.enc.Size)
			if err == nil {
				// An upload that returns before reading everything would
				// leave our writer blocked, and would be short.
				if n, _ := io.Copy(io.Discard, pr); n > 0 {
					err = fmt.Errorf("upload ended %d bytes early", n)
				}
			}
			pr.CloseWithError(errOr(err, errUploadEnded))
			u.err = err
		}()
	}

	checker := dumpcheck.New(req.dump.Compression, req.dump.Format)
	defer checker.Abort()
	cipherHash := sha256.New()
	cipherCount := &counter{}
	w := req.enc.Start(io.MultiWriter(cipherHash, cipherCount, fan))
	plainHash := sha256.New()
	n, copyErr := io.Copy(io.MultiWriter(w, plainHash, checker), req.src)
	if copyErr == nil {
		// The verdict comes before the last ciphertext chunk is let out,
		// so a dump that is not whole reaches no target complete.
		sums.check, copyErr = checker.Close()
	}
	if copyErr == nil {
		copyErr = unchanged(req, n)
	}
	if copyErr == nil {
		copyErr = w.Close()
	}
	if copyErr == nil && cipherCount.n != req.enc.Size {
		copyErr = fmt.Errorf("internal error: ciphertext is %d bytes, announced %d", cipherCount.n, req.enc.Size)
	}
	fan.closeAll(copyErr)
	for _, u := range uploads {
		if u.out.stalled.Load() {
			// Not waited for here: the others commit first. Push gives
			// its clean-up a bounded time at the end.
			results[u.t.Name] = u.out.err
			stalled = append(stalled, u.done)
			continue
		}
		<-u.done
		if u.err != nil {
			results[u.t.Name] = u.err
		}
	}
	if copyErr != nil {
		if errors.Is(copyErr, errNoLiveTargets) {
			return streamSums{}, stalled, errEveryTargetFailed
		}
		var verdict *dumpcheck.Error
		if errors.As(copyErr, &verdict) || errors.Is(copyErr, errDumpChanged) {
			return streamSums{}, stalled, copyErr
		}
		return streamSums{}, stalled, fmt.Errorf("read and encrypt dump: %w", copyErr)
	}
	for name, err := range fan.failed {
		if results[name] == nil {
			results[name] = err
		}
	}
	sums.plain = hex.EncodeToString(plainHash.Sum(nil))
	sums.cipher = hex.EncodeToString(cipherHash.Sum(nil))
	return sums, stalled, nil
}

// unchanged fails when the dump file was written to, truncated or replaced
// while it was read: what was read then matches neither version.
func unchanged(req streamRequest, read int64) error {
	after, err := fileStamp(req.file)
	if err != nil {
		return err
	}
	diff := req.before.Diff(after)
	if diff == "" {
		if fi, err := os.Stat(req.path); err == nil {
			diff = req.before.Diff(dump.StampOf(fi))
		} else {
			diff = "removed"
		}
	}
	if diff == "" && read != req.before.Size {
		diff = fmt.Sprintf("read %d bytes of %d", read, req.before.Size)
	}
	if diff != "" {
		return fmt.Errorf("%w while it was read (%s): nothing was stored", errDumpChanged, diff)
	}
	return nil
}

func fileStamp(f *os.File) (dump.Stamp, error) {
	fi, err := f.Stat()
	if err != nil {
		return dump.Stamp{}, fmt.Errorf("stat dump: %w", err)
	}
	return dump.StampOf(fi), nil
}

var (
	errUploadEnded       = errors.New("upload ended")
	errNoLiveTargets     = errors.New("no target is still receiving")
	errEveryTargetFailed = errors.New("every target failed during upload")
	errDumpChanged       = errors.New("dump changed")
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
