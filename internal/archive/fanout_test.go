package archive

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// A target that fails half-way must not stop or corrupt the others, and
// the others must receive every byte in order.
func TestBroadcasterSurvivesOneFailedTarget(t *testing.T) {
	data := make([]byte, 5<<20)
	rand.Read(data)
	b := newBroadcaster(0)
	got := make([]bytes.Buffer, 3)
	var wg sync.WaitGroup
	errBroken := errors.New("disk full")
	for i := range got {
		pr, pw := io.Pipe()
		b.add([]string{"a", "broken", "c"}[i], pw, nil)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i == 1 {
				io.CopyN(&got[i], pr, 1<<20)
				pr.CloseWithError(errBroken)
				return
			}
			io.Copy(&got[i], pr)
		}(i)
	}
	for off := 0; off < len(data); off += 65552 {
		end := min(off+65552, len(data))
		if _, err := b.Write(data[off:end]); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	b.closeAll(nil)
	wg.Wait()
	for _, i := range []int{0, 2} {
		if !bytes.Equal(got[i].Bytes(), data) {
			t.Errorf("target %d got %d bytes, want all %d intact", i, got[i].Len(), len(data))
		}
	}
	if !errors.Is(b.failed["broken"], errBroken) {
		t.Errorf("failed = %v, want broken: %v", b.failed, errBroken)
	}
	if len(b.failed) != 1 {
		t.Errorf("failed = %v, want only the broken target", b.failed)
	}
}

func TestBroadcasterFailsWhenNoTargetIsLeft(t *testing.T) {
	b := newBroadcaster(0)
	pr, pw := io.Pipe()
	b.add("only", pw, nil)
	pr.CloseWithError(errors.New("gone"))
	var err error
	for i := 0; i < broadcastDepth+2 && err == nil; i++ {
		_, err = b.Write(make([]byte, 100))
	}
	if !errors.Is(err, errNoLiveTargets) {
		t.Fatalf("err = %v, want errNoLiveTargets", err)
	}
	b.closeAll(err)
}

// closeAll with an error must make every reader see that error, not EOF,
// so no upload stores a truncated object as complete.
func TestBroadcasterCloseWithErrorReachesReaders(t *testing.T) {
	b := newBroadcaster(0)
	pr, pw := io.Pipe()
	b.add("t", pw, nil)
	errSource := errors.New("dump changed while reading")
	done := make(chan error)
	go func() {
		_, err := io.Copy(io.Discard, pr)
		done <- err
	}()
	b.Write([]byte("partial"))
	b.closeAll(errSource)
	if err := <-done; !errors.Is(err, errSource) {
		t.Fatalf("reader saw %v, want %v", err, errSource)
	}
}

func BenchmarkBroadcaster3Targets(b *testing.B) {
	chunk := make([]byte, 65552)
	b.SetBytes(int64(len(chunk)))
	br := newBroadcaster(0)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		pr, pw := io.Pipe()
		br.add(name, pw, nil)
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(io.Discard, pr) }()
	}
	for b.Loop() {
		br.Write(chunk)
	}
	br.closeAll(nil)
	wg.Wait()
}

// A target that takes no data and returns no error (a server that stopped
// reading) must be dropped after the stall timeout, its upload cancelled,
// while the others receive everything.
func TestBroadcasterDropsStalledTarget(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.Read(data)
	b := newBroadcaster(200 * time.Millisecond)
	var good bytes.Buffer
	goodR, goodW := io.Pipe()
	b.add("good", goodW, nil)
	copied := make(chan struct{})
	go func() { io.Copy(&good, goodR); close(copied) }()
	_, stuckW := io.Pipe() // nobody ever reads it
	cancelled := make(chan struct{})
	b.add("stuck", stuckW, func() { close(cancelled) })

	start := time.Now()
	for off := 0; off < len(data); off += 65552 {
		end := min(off+65552, len(data))
		if _, err := b.Write(data[off:end]); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	b.closeAll(nil)
	<-copied
	if !bytes.Equal(good.Bytes(), data) {
		t.Errorf("good target got %d bytes, want all %d intact", good.Len(), len(data))
	}
	err := b.failed["stuck"]
	if err == nil || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("stuck target's error = %v, want a stall", err)
	}
	select {
	case <-cancelled:
	default:
		t.Error("the stalled target's upload was not cancelled")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("push took %s with a 200ms stall timeout", took)
	}
}
