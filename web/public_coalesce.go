package web

import (
	"bytes"
	"context"
	"net"
)

// Go's HTTP/1 server writes a response through a fixed 4 KiB buffer, so a
// response over 4 KiB leaves in two write system calls — the buffer when it
// fills, the rest at the end. For the status page that is half the cost of
// serving it: the bytes are ready, the syscalls are the work. A page handler
// that knows its response is about to be split arms the connection, which
// then holds the first part and sends the whole response in one write.
//
// It is armed only for a response whose exact length the handler knows
// (fixed bytes with Content-Length), and releases what it holds as soon as
// that many bytes have arrived, so nothing can be held back.

// CoalescingListener wraps every accepted connection so page handlers can
// ask for single-write responses. Use it with NewHTTPServer.
func CoalescingListener(ln net.Listener) net.Listener { return coalescingListener{ln} }

type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescingConn{Conn: c}, nil
}

// coalescingConn is a connection that can hold one response's bytes until
// the response is complete. Only the connection's own serving goroutine
// writes to it, one response at a time, so it needs no lock.
type coalescingConn struct {
	net.Conn
	bodyLen int    // armed: the body length of the response being written; 0 when not armed
	held    []byte // the response so far
}

// splitAt is where Go's server splits a response: the size of its
// per-connection write buffer.
const splitAt = 4 << 10

// expectResponse arms the connection for a response whose body is bodyLen
// bytes, when that response would otherwise be split.
func (c *coalescingConn) expectResponse(bodyLen int) {
	// Arming a response that would have left in one write anyway costs
	// one copy; missing one that is split costs a system call. The header
	// block is a few hundred bytes (more behind CDN headers, cookies), so
	// err on the side of arming.
	if bodyLen+2048 > splitAt && bodyLen < 1<<20 {
		c.bodyLen = bodyLen
	}
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	if c.bodyLen == 0 {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	headerEnd := bytes.Index(c.held, []byte("\r\n\r\n"))
	switch {
	case headerEnd < 0 && len(c.held) < 16<<10:
		return len(p), nil // the headers are not complete yet
	case headerEnd >= 0 && len(c.held) < headerEnd+4+c.bodyLen:
		return len(p), nil // the body is not complete yet
	}
	// Complete (or not what we expected: send what we have regardless).
	held := c.held
	c.bodyLen, c.held = 0, held[:0]
	if _, err := c.Conn.Write(held); err != nil {
		return 0, err
	}
	return len(p), nil
}

type connKey struct{}

// connContext puts the connection in each request's context, where a page
// handler finds it to arm it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*coalescingConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// expectResponse arms the request's connection, if it is a coalescing one.
func expectResponse(ctx context.Context, bodyLen int) {
	if cc, ok := ctx.Value(connKey{}).(*coalescingConn); ok {
		cc.expectResponse(bodyLen)
	}
}
