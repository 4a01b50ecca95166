package web

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// closeWatch wraps a listener so a test can wait for the server to close
// the connections it accepted.
type closeWatch struct {
	net.Listener
	mu     sync.Mutex
	closed []chan struct{}
}

func (l *closeWatch) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{})
	l.mu.Lock()
	l.closed = append(l.closed, ch)
	l.mu.Unlock()
	return &watchedConn{Conn: c, closed: ch}, nil
}

// accepted is the channel closed when the server closes its i-th connection.
func (l *closeWatch) accepted(t *testing.T, i int) chan struct{} {
	t.Helper()
	var ch chan struct{}
	eventually(t, "the server to accept the connection", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.closed) > i {
			ch = l.closed[i]
		}
		return ch != nil
	})
	return ch
}

type watchedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *watchedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// A client that sends requests and never reads their answers is cut off
// once its response has waited longer than the write timeout; before, it
// held its connection (and a goroutine) for as long as it liked.
func TestClientThatNeverReadsIsCutOff(t *testing.T) {
	t.Parallel()
	watch := &closeWatch{}
	ts := newTestServer(t, func(s *testSetup) {
		s.smallSocketBuffers = true
		s.writeTimeout = 200 * time.Millisecond
		s.wrapListener = func(ln net.Listener) net.Listener { watch.Listener = ln; return watch }
	})
	c := smallWindowConn(t, ts)
	// Far more pipelined page requests than any socket buffers hold.
	if _, err := c.Write([]byte(strings.Repeat("GET / HTTP/1.1\r\nHost: status.example.test\r\n\r\n", 2000))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-watch.accepted(t, 0):
	case <-time.After(waitLimit):
		t.Fatal("the connection of a client that never reads is still open")
	}
}

// smallWindowConn opens a TCP connection to ts with a small receive
// buffer, so that what the client does not read soon holds the server up.
func smallWindowConn(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn opens a TCP connection to ts from the local address from.
func rawConn(t *testing.T, ts *testServer, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// getOn sends one request on c and returns the status of its answer.
func getOn(t *testing.T, c net.Conn) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: status.example.test\r\n\r\n")); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// One address may hold only so many ordinary connections at once; the next
// is turned away with a 429 at once, while other addresses are served, and
// a live stream does not take an ordinary connection's place.
func TestConnectionsPerAddressAreCapped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) { s.cfg.MaxConnsPerIP = 2 })
	first, second := rawConn(t, ts, "127.0.0.1"), rawConn(t, ts, "127.0.0.1")
	if st := getOn(t, first); st != http.StatusOK {
		t.Fatalf("first connection: %d, want 200", st)
	}
	if st := getOn(t, rawConn(t, ts, "127.0.0.1")); st != http.StatusTooManyRequests {
		t.Errorf("a third connection from the same address: %d, want 429", st)
	}
	if st := getOn(t, rawConn(t, ts, "127.0.0.2")); st != http.StatusOK {
		t.Errorf("a connection from another address: %d, want 200", st)
	}
	if st := getOn(t, second); st != http.StatusOK {
		t.Errorf("the second connection, after the third was refused: %d, want 200", st)
	}
	first.Close()
	second.Close()
	eventually(t, "a closed connection to give its place back", func() bool {
		c := rawConn(t, ts, "127.0.0.1")
		defer c.Close()
		return getOn(t, c) == http.StatusOK
	})

	// Streams count against the cap on streams, not this one.
	for range 2 {
		if s := openStream(t, ts, "", nil); s.resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", s.resp.StatusCode)
		}
	}
	if st := getOn(t, rawConn(t, ts, "127.0.0.1")); st != http.StatusOK {
		t.Errorf("a connection beside two live streams: %d, want 200", st)
	}
}
