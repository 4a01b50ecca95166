package notify

import (
	"bytes"
	"net"
	"testing"

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
