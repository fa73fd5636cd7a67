package mail

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// SpoolSender writes each message as <id>.eml under data-dir/mail/outgoing,
// for a store run without a relay (the demo, development): nothing is lost,
// and any mail program opens the files.
type SpoolSender struct {
	dir string
}

// SpoolDir is where SpoolSender writes for a given data directory.
func SpoolDir(dataDir string) string {
	return filepath.Join(dataDir, "mail", "outgoing")
}

// NewSpoolSender creates the spool directory and says once where mail goes,
// so that someone waiting for a password-reset email knows where to look.
func NewSpoolSender(dataDir string, logger *slog.Logger) (*SpoolSender, error) {
	dir := SpoolDir(dataDir)
	// 0700: the messages hold reset links and customers' addresses.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail spool: %w", err)
	}
	if logger != nil {
		logger.Info("no SMTP relay configured: outgoing mail is written to files", "dir", dir)
	}
	return &SpoolSender{dir: dir}, nil
}

// Dir is the directory the files go to.
func (s *SpoolSender) Dir() string { return s.dir }

// Path is the file a message is (or will be) written to.
func (s *SpoolSender) Path(msgID string) string {
	return filepath.Join(s.dir, filepath.Base(msgID)+".eml")
}

// Send writes m atomically: to a temporary file in the same directory,
// synced, then renamed over <id>.eml. A reader (or a crash) sees either no
// file or the whole message, and writing the same message again replaces
// it with identical bytes. The temporary name does not end in .eml, so that
// what a crash leaves half-written is never taken for a message.
func (s *SpoolSender) Send(ctx context.Context, m Stored) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := compose(m)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".tmp-*.part")
	if err != nil {
		return fmt.Errorf("mail spool: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	w := spoolWriters.Get().(*bufio.Writer)
	w.Reset(f)
	_, err = msg.WriteTo(w)
	if err == nil {
		err = w.Flush()
	}
	w.Reset(nil) // let go of the file
	spoolWriters.Put(w)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.Path(m.ID))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("mail spool: %w", err)
	}
	return nil
}

// spoolWriters are the buffers Send writes a message to its file through:
// one a message was a 4 kB allocation for each.
var spoolWriters = sync.Pool{New: func() any { return bufio.NewWriter(nil) }}

// syncDir makes a rename durable: the directory entry is data too.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
