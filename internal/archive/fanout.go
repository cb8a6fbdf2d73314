package archive

import (
	"io"
	"sync"
	"sync/atomic"
)

// broadcastDepth is how many chunks (about 64 KiB each, age's chunk size)
// may wait for one target. It lets a target that stalls briefly (an S3 part
// upload starting, an SFTP round trip) fall behind without holding up the
// others, and bounds memory at depth x chunk x targets.
const broadcastDepth = 16

// broadcaster copies every write to every target's pipe, each target fed
// by its own goroutine so targets write in parallel. A target whose pipe
// fails drops out; a write fails only when no target is left.
type broadcaster struct {
	outs   []*broadcastOut
	failed map[string]error
	pool   sync.Pool
}

type broadcastOut struct {
	name string
	pw   *io.PipeWriter
	ch   chan *chunk
	done chan struct{} // closed when the pipe failed
	err  error         // the pipe's error, set before done is closed
	dead bool          // seen by the writer as failed
	wg   sync.WaitGroup
}

// chunk is one write shared by all targets; refs counts the targets that
// still have to write it, so the buffer can be reused after the last.
type chunk struct {
	data []byte
	refs atomic.Int32
}

func newBroadcaster() *broadcaster {
	return &broadcaster{pool: sync.Pool{New: func() any { return new(chunk) }}}
}

func (b *broadcaster) add(name string, pw *io.PipeWriter) {
	o := &broadcastOut{name: name, pw: pw, ch: make(chan *chunk, broadcastDepth), done: make(chan struct{})}
	o.wg.Add(1)
	go b.feed(o)
	b.outs = append(b.outs, o)
}

func (b *broadcaster) feed(o *broadcastOut) {
	defer o.wg.Done()
	for c := range o.ch {
		if o.err == nil {
			if _, err := o.pw.Write(c.data); err != nil {
				o.err = err
				close(o.done)
			}
		}
		// After a failure keep draining, so the writer never blocks on a
		// target that is gone.
		b.release(c)
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
			select {
			case <-o.done:
				b.markDead(o)
			default:
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

// closeAll waits until every target has written what it was given, then
// ends each pipe: with EOF when err is nil, else with err so the upload
// fails instead of storing a short object.
func (b *broadcaster) closeAll(err error) {
	for _, o := range b.outs {
		close(o.ch)
	}
	for _, o := range b.outs {
		o.wg.Wait()
		switch {
		case o.err != nil:
			if !o.dead {
				b.markDead(o)
			}
		case err != nil:
			o.pw.CloseWithError(err)
		default:
			o.pw.Close()
		}
	}
}
