package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/notify"
	"github.com/pgarchive/pgarchive/internal/unitlog"
)

type notifyOptions struct {
	cfg    *config.Config
	unit   string
	lines  int
	dryRun bool
	stdout io.Writer
}

// maxNotifyBody keeps a message within what chat services take (ntfy and
// Telegram stop near 4 KiB); the oldest journal lines go first.
const maxNotifyBody = 3500

// maxLineLen cuts a long journal line (an rclone error, say) short.
const maxLineLen = 400

func newNotifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "notify",
		Usage:     "tell every channel in [notify] urls_file that a unit failed",
		ArgsUsage: " ",
		Description: `The body of pgarchive-notify@.service, which OnFailure=pgarchive-notify@%n.service
starts when a dump unit fails. Asks systemctl how the unit's last run ended,
reads that run's last journal lines (journalctl _SYSTEMD_INVOCATION_ID=...),
and sends one message with host, unit, result, the targets that failed and
the journal excerpt to every shoutrrr URL in [notify] urls_file, all at once.
Without a journal the excerpt says so; the message is sent regardless.

--dry-run prints the message instead of sending it.

` + exitStatusHelp + `
   A URL that cannot be reached does not stop the others; each failure is
   logged, naming the URL by its place in the file ("URL #2 in urls_file",
   comments not counted), never by its value, and makes the exit 1.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "unit", Aliases: []string{"u"}, Usage: "the failed unit `NAME` (%i in the template)"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 40, Usage: "journal lines `N` to read"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the message, send nothing"},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlag(c, "unit"); err != nil {
				return err
			}
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			return runNotify(c.Context, notifyOptions{
				cfg: cfg, unit: c.String("unit"), lines: c.Int("lines"),
				dryRun: c.Bool("dry-run"), stdout: c.App.Writer,
			})
		},
	}
}

func runNotify(ctx context.Context, opts notifyOptions) error {
	if opts.lines < 1 {
		return usagef("--lines must be at least 1")
	}
	var urls []string
	if !opts.dryRun {
		if opts.cfg.Notify.URLsFile == "" {
			return &config.Error{Key: "notify.urls_file", Msg: "not set: notify has nowhere to send"}
		}
		var err error
		if urls, err = notify.ReadURLs(opts.cfg.Notify.URLsFile); err != nil {
			return err
		}
	}
	msg := failureMessage(ctx, opts.cfg.Host, opts.unit, opts.lines)
	if opts.dryRun {
		_, err := fmt.Fprintf(opts.stdout, "%s\n\n%s", msg.Title, msg.Body)
		return err
	}
	errs := notify.Send(ctx, urls, msg)
	for _, err := range errs {
		logger().Error("notification not delivered", "unit", opts.unit, "error", err.Error())
	}
	if len(errs) > 0 {
		parts := make([]string, len(errs))
		for i, err := range errs {
			parts[i] = err.Error()
		}
		return fmt.Errorf("notify: %d of %d URLs failed (%s)", len(errs), len(urls), joinLines(parts))
	}
	logger().Info("notified", "unit", opts.unit, "urls", len(urls))
	return nil
}

// failureMessage gathers what the unit left behind into the message. It
// never fails: what cannot be read is said in the message instead.
func failureMessage(ctx context.Context, host, unit string, lines int) notify.Message {
	u, showErr := unitlog.Show(ctx, unit)
	// Without systemctl's answer there is no invocation ID: Journal then
	// reads the unit's last lines instead.
	entries, journalErr := unitlog.Journal(ctx, u, lines)

	var head strings.Builder
	fmt.Fprintf(&head, "pgarchive: %s failed on %s\n", u.Name, host)
	switch {
	case showErr != nil:
		fmt.Fprintf(&head, "result: unknown (%v)\n", showErr)
	default:
		result := u.Result
		if result == "" {
			result = "unknown"
		}
		if u.Failed != "" {
			result += " (" + u.Failed + ")"
		} else if u.ExecMainCode != "" && u.ExecMainStatus != "" && u.ExecMainStatus != "0" {
			result += fmt.Sprintf(" (main process %s, status %s)", u.ExecMainCode, u.ExecMainStatus)
		}
		fmt.Fprintf(&head, "result: %s\n", result)
	}
	if failed := unitlog.FailedTargets(entries); len(failed) > 0 {
		fmt.Fprintf(&head, "failed targets: %s\n", strings.Join(failed, ", "))
	}
	if u.InvocationID != "" {
		fmt.Fprintf(&head, "invocation: %s\n", u.InvocationID)
	}

	var excerpt []string
	switch {
	case journalErr != nil:
		excerpt = []string{fmt.Sprintf("(no journal excerpt: the journal is not available: %v)", journalErr)}
	case len(entries) == 0:
		excerpt = []string{"(no journal excerpt: the journal holds no lines of this run)"}
	default:
		for _, l := range unitlog.Lines(entries) {
			if len(l) > maxLineLen {
				l = strings.ToValidUTF8(l[:maxLineLen], "") + "…"
			}
			excerpt = append(excerpt, l)
		}
	}
	// Keep the newest lines that fit.
	room := maxNotifyBody - head.Len() - 40
	keep := len(excerpt)
	size := 0
	for keep > 0 && size+len(excerpt[keep-1])+1 <= room {
		size += len(excerpt[keep-1]) + 1
		keep--
	}
	body := head.String() + "\nlast journal lines of this run:\n"
	if keep > 0 {
		body += fmt.Sprintf("[%d earlier lines left out]\n", keep)
	}
	body += strings.Join(excerpt[keep:], "\n") + "\n"
	return notify.Message{Title: fmt.Sprintf("%s: %s failed", host, u.Name), Body: body}
}
