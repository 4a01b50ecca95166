package notify

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// A relay's limit of messages per connection holds however the messages are
// batched, with PIPELINING and without: every subscriber gets one message,
// and no connection carries more than the limit.
func TestSMTPMessagesPerConnection(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    sinkOptions
	}{
		{"pipelined", sinkOptions{}},
		{"one command at a time", sinkOptions{noPipelining: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			sink := newSMTPSink(t, tt.o)
			cfg := sink.smtpConfig("none")
			// One worker takes every batch, so batches are as long as they get.
			cfg.Concurrency, cfg.MessagesPerConnection = 1, 3
			emails := subscribers(t, st, 2*maxEmailBatch+1)
			startDispatcher(t, st, Config{SMTP: cfg})
			mustIncident(t, st, store.IncidentInput{Name: "Down"})
			eventually(t, "every subscriber to be mailed", func() bool { return counts(t, st)["email/sent"] == len(emails) })

			perSession := map[int]int{}
			for _, m := range sink.messages() {
				perSession[m.Session]++
			}
			for s, n := range perSession {
				if n > cfg.MessagesPerConnection {
					t.Errorf("connection %d carried %d messages, over the limit of %d", s, n, cfg.MessagesPerConnection)
				}
			}
			if got := sink.byRecipient(); len(got) != len(emails) {
				t.Errorf("%d distinct recipients, want %d", len(got), len(emails))
			}
		})
	}
}

// A relay that hangs up on a connection Herald kept open while it was idle
// delays nothing: the next messages go out on a new connection at once,
// not after the first retry's wait (when the connection kept would have
// been as stale again, and again after the next).
func TestSMTPConnectionClosedWhileIdle(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    sinkOptions
	}{
		{"pipelined", sinkOptions{idle: 200 * time.Millisecond}},
		{"one command at a time", sinkOptions{idle: 200 * time.Millisecond, noPipelining: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			sink := newSMTPSink(t, tt.o)
			cfg := sink.smtpConfig("none")
			cfg.Concurrency = 1
			cfg.Retry = []time.Duration{time.Hour} // a retry would not come within the test
			emails := subscribers(t, st, 3)
			r := startDispatcher(t, st, Config{SMTP: cfg, Jitter: -1})
			mustIncident(t, st, store.IncidentInput{Name: "Down"})
			eventually(t, "the first message to everyone", func() bool { return counts(t, st)["email/sent"] == len(emails) })
			eventually(t, "the relay to hang up on the idle connection", func() bool { return sink.sessionsEnded() >= 1 })

			mustIncident(t, st, store.IncidentInput{Name: "Down again"})
			eventually(t, "the second message to everyone", func() bool {
				if retried, _ := value(gather(t, r.d), "herald_deliveries_total", map[string]string{"channel": "email", "result": "retry"}); retried.GetCounter().GetValue() > 0 {
					t.Fatalf("a message waits for a retry after the relay closed an idle connection: %v", counts(t, st))
				}
				return counts(t, st)["email/sent"] == 2*len(emails)
			})
		})
	}
}

// withoutPipelining is a listener whose connections leave PIPELINING out of
// the server's EHLO reply (go-smtp always offers it), so that a test can
// talk to a relay that speaks one command at a time.
type withoutPipelining struct{ net.Listener }

func (l withoutPipelining) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return ehloFilter{c}, nil
}

type ehloFilter struct{ net.Conn }

// Write renames the extension: go-smtp writes each reply line on its own.
func (c ehloFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("PIPELINING\r\n")) {
		if _, err := c.Conn.Write(bytes.Replace(p, []byte("PIPELINING\r\n"), []byte("X-NOT-OFFERED\r\n"), 1)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}
