// Package notify sends one message to every channel an operator listed, so
// that a failed backup pages someone.
//
// Channels are shoutrrr URLs (https://shoutrrr.nickfedor.com), one per line
// of the file `[notify] urls_file` names: ntfy, Matrix, Slack, email,
// Telegram, a generic webhook and more, e.g.
//
//	ntfy://:tk_token@ntfy.example.net/db-backups
//	generic+https://hooks.example.net/pgarchive
//
// Blank lines and lines starting with # are ignored.
//
// Send delivers to every URL at once and waits for all of them: one
// channel that is down does not keep the message from the others. URLs
// carry tokens, so nothing this package returns contains a URL or a part
// of one; an error names a URL by its position instead ("URL #2 in
// urls_file").
package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nicholas-fedor/shoutrrr"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Timeout bounds each channel's delivery.
const Timeout = 20 * time.Second

// Message is what Send delivers. Title is passed to channels that show
// one (ntfy, Telegram, email's subject...); Body should stand on its own,
// since a plain webhook gets only the body.
type Message struct {
	Title string
	Body  string
}

// Error is the failure of one URL. It never holds the URL itself.
type Error struct {
	// Index is the URL's position among the file's URLs, from 1.
	Index int
	// Reason is the failure with every part of the URL removed.
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("URL #%d in urls_file: %s", e.Index, e.Reason)
}

// ReadURLs reads a urls_file: one URL per line, blank lines and # comments
// ignored. An empty list is an error: a notifier with nowhere to send is a
// configuration mistake.
func ReadURLs(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read notify.urls_file: %w", errors.Unwrap(err))
	}
	urls := config.Lines(data)
	if len(urls) == 0 {
		return nil, errors.New("notify.urls_file holds no URL")
	}
	return urls, nil
}

// Send delivers msg to every URL concurrently and returns one *Error per
// URL that failed (nil when all succeeded), in URL order.
func Send(ctx context.Context, urls []string, msg Message) []error {
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sendOne(ctx, u, msg); err != nil {
				errs[i] = &Error{Index: i + 1, Reason: Redact(err.Error(), u)}
			}
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func sendOne(ctx context.Context, rawURL string, msg Message) error {
	sender, err := shoutrrr.CreateSender(rawURL)
	if err != nil {
		return fmt.Errorf("not a usable shoutrrr URL: %w", err)
	}
	sender.Timeout = Timeout
	params := types.Params{}
	if msg.Title != "" {
		params.SetTitle(msg.Title)
	}
	done := make(chan error, 1)
	go func() {
		var first error
		for _, err := range sender.Send(msg.Body, &params) {
			if err != nil && first == nil {
				first = err
			}
		}
		done <- first
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
