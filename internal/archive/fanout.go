package archive

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// broadcastDepth is how many chunks (about 64 KiB each, age's chunk size)
// may wait for one target. It lets a target that stalls briefly (an S3 part
// upload starting, an SFTP round trip) fall behind without holding up the
// others, and bounds memory at depth x chunk x targets.
const broadcastDepth = 16

// DefaultStallTimeout is how long a target may take to accept one chunk
// before it is dropped, when the request does not say.
const DefaultStallTimeout = 10 * time.Minute

// broadcaster copies every write to every target's pipe, each target fed
// by its own goroutine so targets write in parallel. A target whose pipe
// fails, or that accepts nothing for the stall timeout, drops out; a write
// fails only when no target is left.
type broadcaster struct {
	outs   []*broadcastOut
	failed map[string]error
	pool   sync.Pool

	stall     time.Duration
	watchStop chan struct{}
	watchDone chan struct{}
}

type broadcastOut struct {
	name   string
	pw     *io.PipeWriter
	cancel func() // ends the target's upload
	ch     chan *chunk
	wg     sync.WaitGroup

	failOnce sync.Once
	done     chan struct{} // closed once the target failed
	err      error         // why, set before done is closed
	stalled  atomic.Bool

	// writing is when the pipe write under way began (unix nanoseconds),
	// 0 while the feeder waits for the next chunk.
	writing atomic.Int64

	dead bool // seen by the writer as failed
}

// chunk is one write shared by all targets; refs counts the targets that
// still have to write it, so the buffer can be reused after the last.
type chunk struct {
	data []byte
	refs atomic.Int32
}

// newBroadcaster returns a broadcaster that drops a target whose pipe
// write has not been taken within stall.
func newBroadcaster(stall time.Duration) *broadcaster {
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	b := &broadcaster{
		pool:      sync.Pool{New: func() any { return new(chunk) }},
		stall:     stall,
		watchStop: make(chan struct{}),
		watchDone: make(chan struct{}),
	}
	go b.watch()
	return b
}

// add feeds a new target through pw; cancel is called if the target is
// dropped, so its upload ends instead of waiting on a pipe nobody feeds.
func (b *broadcaster) add(name string, pw *io.PipeWriter, cancel func()) *broadcastOut {
	o := &broadcastOut{name: name, pw: pw, cancel: cancel, ch: make(chan *chunk, broadcastDepth), done: make(chan struct{})}
	o.wg.Add(1)
	go b.feed(o)
	b.outs = append(b.outs, o)
	return o
}

func (o *broadcastOut) fail(err error) {
	o.failOnce.Do(func() {
		o.err = err
		close(o.done)
		// Unblocks a pipe write the upload will never take, and tells the
		// upload that its input failed.
		o.pw.CloseWithError(err)
		if o.cancel != nil {
			o.cancel()
		}
	})
}

func (o *broadcastOut) failed() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

func (b *broadcaster) feed(o *broadcastOut) {
	defer o.wg.Done()
	for c := range o.ch {
		if !o.failed() {
			o.writing.Store(time.Now().UnixNano())
			_, err := o.pw.Write(c.data)
			o.writing.Store(0)
			if err != nil {
				o.fail(err)
			}
		}
		// After a failure keep draining, so the writer never blocks on a
		// target that is gone.
		b.release(c)
	}
}

// watch drops every target whose pipe write has waited longer than the
// stall timeout: an upload that neither reads nor fails (a server that
// stopped answering, a hung NFS mount) would otherwise hold the others
// back once its queue is full.
func (b *broadcaster) watch() {
	defer close(b.watchDone)
	tick := time.NewTicker(min(max(b.stall/10, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		select {
		case <-b.watchStop:
			return
		case now := <-tick.C:
			for _, o := range b.outs {
				began := o.writing.Load()
				if began != 0 && now.Sub(time.Unix(0, began)) > b.stall && !o.failed() {
					o.stalled.Store(true)
					o.fail(fmt.Errorf("stalled: took no data for %s (stall_timeout)", b.stall))
				}
			}
		}
	}
}

func (b *broadcaster) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		b.pool.Put(c)
	}
}

func (b *broadcaster) Write(p []byte) (int, error) {
	live := 0
	for _, o := range b.outs {
		if !o.dead {
			if o.failed() {
				b.markDead(o)
			} else {
				live++
			}
		}
	}
	if live == 0 {
		return 0, errNoLiveTargets
	}
	c := b.pool.Get().(*chunk)
	c.data = append(c.data[:0], p...)
	c.refs.Store(int32(live))
	for _, o := range b.outs {
		if o.dead {
			continue
		}
		select {
		case o.ch <- c:
		case <-o.done:
			// Failed while we waited for room: it will not take this chunk.
			b.markDead(o)
			b.release(c)
		}
	}
	return len(p), nil
}

func (b *broadcaster) markDead(o *broadcastOut) {
	o.dead = true
	if b.failed == nil {
		b.failed = map[string]error{}
	}
	b.failed[o.name] = o.err
}

// closeAll waits until every target has written what it was given (or
// was dropped), then ends each pipe: with EOF when err is nil, else with
// err so the upload fails instead of storing a short object.
func (b *broadcaster) closeAll(err error) {
	for _, o := range b.outs {
		close(o.ch)
	}
	for _, o := range b.outs {
		o.wg.Wait()
		switch {
		case o.failed():
			if !o.dead {
				b.markDead(o)
			}
		case err != nil:
			o.pw.CloseWithError(err)
		default:
			o.pw.Close()
		}
	}
	close(b.watchStop)
	<-b.watchDone
}
