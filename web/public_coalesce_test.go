package web

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// countingListener counts the writes that reach the socket.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	writes []int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, len(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

func (l *countingListener) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes
	l.writes = nil
	return w
}

// A status page bigger than Go's 4 KiB write buffer still leaves in one
// write, complete and intact, and keep-alive goes on working after it.
func TestPageLeavesInOneWrite(t *testing.T) {
	t.Parallel()
	var counter *countingListener
	ts := newTestServer(t, func(s *testSetup) {
		s.wrapListener = func(l net.Listener) net.Listener { counter = &countingListener{Listener: l}; return counter }
	})
	// Enough content for a page well over 4 KiB even compressed.
	for i := range 12 {
		c := ts.createComponent(t, "Component "+strings.Repeat("x", i), nil)
		var body strings.Builder
		for range 20 {
			body.WriteString("Request " + rand.Text() + " failed for some users. ") // random: it does not compress away
		}
		ts.createIncident(t, map[string]any{"name": "Incident " + c.ID, "body": body.String(),
			"components": map[string]string{c.ID: "partial_outage"}})
	}
	ts.waitFresh(t)
	plain := ts.srv.main.snap.Load().home.body

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, enc := range []string{"gzip", "identity", "gzip"} {
		req, _ := http.NewRequest("GET", ts.URL+"/", nil)
		req.Header.Set("Accept-Encoding", enc)
		counter.take()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if enc == "gzip" {
			if len(body) <= 4096 {
				t.Fatalf("the gzipped page is only %d bytes; the test needs more than 4 KiB", len(body))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, plain) {
			t.Fatalf("%s: the page arrived altered (%d bytes, want %d)", enc, len(body), len(plain))
		}
		if w := counter.take(); len(w) != 1 {
			t.Errorf("%s: the response took %d writes %v, want 1", enc, len(w), w)
		}
	}
}

// Unarmed, the connection passes writes straight through; armed, it holds
// them only until the announced response is complete.
func TestCoalescingConnReleasesExactlyTheResponse(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	defer client.Close()
	c := &coalescingConn{Conn: server}
	got := make(chan []byte, 10)
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := client.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	}()

	c.Write([]byte("plain"))
	if b := <-got; string(b) != "plain" {
		t.Fatalf("unarmed write arrived as %q", b)
	}
	body := bytes.Repeat([]byte("b"), 5000)
	c.expectResponse(len(body))
	head := "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
	resp := append([]byte(head), body...)
	c.Write(resp[:4096])
	select {
	case b := <-got:
		t.Fatalf("the first part left early: %d bytes", len(b))
	default:
	}
	c.Write(resp[4096:])
	if b := <-got; !bytes.Equal(b, resp) {
		t.Fatalf("the response arrived as %d bytes, want %d in one piece", len(b), len(resp))
	}
	// Disarmed again: the next response passes through.
	c.Write([]byte("next"))
	if b := <-got; string(b) != "next" {
		t.Fatalf("after the response, a write arrived as %q", b)
	}
	// A small response is never held.
	c.expectResponse(100)
	c.Write([]byte("small"))
	if b := <-got; string(b) != "small" {
		t.Fatalf("small response arrived as %q", b)
	}
	server.Close()
}

// A body just under 4 KiB behind a header block of several hundred bytes
// (CDN headers, say) still crosses Go's buffer: the connection must hold
// it too, not only bodies that are over 4 KiB by themselves.
func TestCoalescingArmsBodiesJustUnderTheBuffer(t *testing.T) {
	t.Parallel()
	out := &countingConn{l: &countingListener{}}
	server, client := net.Pipe()
	defer client.Close()
	go io.Copy(io.Discard, client)
	out.Conn = server
	c := &coalescingConn{Conn: out}
	header := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Padding: "+strings.Repeat("p", 50)+"\r\n", 10) + "\r\n"
	body := strings.Repeat("b", 3800)
	c.expectResponse(len(body))
	response := header + body
	// As net/http's bufio.Writer does: its 4 KiB buffer when full, then the rest.
	for _, part := range []string{response[:splitAt], response[splitAt:]} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if w := out.l.take(); len(w) != 1 || w[0] != len(response) {
		t.Errorf("writes to the socket %v, want one of %d bytes", w, len(response))
	}
}
