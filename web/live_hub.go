package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
)

// Hub fans live events out to every connected stream. Each event is encoded
// once as SSE bytes and the same slice is handed to every client. Sending
// never blocks: a client whose buffer is full is dropped, so a reader that
// stalls cannot delay anyone else.
type Hub struct {
	bufferSize int
	maxPerIP   int

	mu      sync.Mutex
	clients map[*streamClient]struct{}
	perIP   map[string]int    // open streams by clientKey
	lastID  int64             // id of the last change-feed event broadcast
	pages   map[string]*frame // latest page fragment, by language
	closed  bool
}

// frame is one encoded SSE event.
type frame struct {
	id    int64
	kind  frameKind
	bytes []byte
	// lang is a page frame's language: it goes to the streams of pages
	// shown in that language alone.
	lang string

	// Page frames (liveFrame) carry the parts that changed since the frame
	// with id base, for pages at base or later; a page further behind is
	// sent the whole region (complete). base 0: bytes are the whole.
	base   int64
	banner string
	region *livePart
	once   sync.Once
	whole  []byte
}

// pageEvent is the data of a "page" event.
type pageEvent struct {
	Version int64  `json:"version"`
	Banner  string `json:"banner"`
	HTML    string `json:"html"`
}

// encode makes the page event that carries html.
func (f *frame) encode(html []byte) ([]byte, error) {
	// HTML escaping (\u003c for <) would only inflate every frame: the
	// data is parsed with JSON.parse, never inserted into HTML as JSON.
	var data bytes.Buffer
	data.Grow(len(html) + len(html)/8 + 128)
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(pageEvent{f.id, f.banner, string(html)}); err != nil {
		return nil, err
	}
	return encodeFrame(f.id, "page", bytes.TrimRight(data.Bytes(), "\n")), nil
}

// complete is the page frame with the whole region, for a page that is
// further behind than base. It is made on first need: pages are seldom
// behind, and then all at once (a restart).
func (f *frame) complete() []byte {
	f.once.Do(func() {
		if f.whole != nil {
			return
		}
		var err error
		if f.whole, err = f.encode(f.region.whole()); err != nil {
			f.whole = reloadFrame(f.id, "the page could not be brought up to date")
		}
	})
	return f.whole
}

type frameKind uint8

const (
	kindJSON frameKind = 1 << iota // API-shaped change events
	kindPage                       // page fragments for the status page script
)

// streamClient is one open /events connection.
type streamClient struct {
	addr  string // clientKey
	kinds frameKind
	lang  string // the language of the page it updates
	ch    chan *frame
	gone  chan struct{} // closed when the hub drops the client or shuts down
	once  sync.Once
}

func (c *streamClient) drop() { c.once.Do(func() { close(c.gone) }) }

var (
	errTooManyStreams = errors.New("too many live streams from this address")
	errHubClosed      = errors.New("server is shutting down")
)

// NewHub makes a hub whose clients buffer bufferSize events and which admits
// at most maxPerIP streams per client (0: no limit).
func NewHub(bufferSize, maxPerIP int) *Hub {
	return &Hub{bufferSize: bufferSize, maxPerIP: maxPerIP, clients: map[*streamClient]struct{}{}, perIP: map[string]int{}, pages: map[string]*frame{}}
}

// subscribe registers a client and returns, atomically with registering,
// the position it joins at: the last change-feed id already broadcast (the
// client replays anything after its Last-Event-ID up to here from the
// database) and the current page fragment in its language. Every later
// event reaches the client's channel, so nothing falls between replay and
// live.
func (h *Hub) subscribe(addr string, kinds frameKind, lang string) (*streamClient, int64, *frame, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, 0, nil, errHubClosed
	}
	if h.maxPerIP > 0 && h.perIP[addr] >= h.maxPerIP {
		return nil, 0, nil, errTooManyStreams
	}
	c := &streamClient{addr: addr, kinds: kinds, lang: lang, ch: make(chan *frame, h.bufferSize), gone: make(chan struct{})}
	h.clients[c] = struct{}{}
	h.perIP[addr]++
	return c, h.lastID, h.pages[lang], nil
}

// unsubscribe removes a client; safe to call after the hub dropped it.
func (h *Hub) unsubscribe(c *streamClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(c)
}

func (h *Hub) remove(c *streamClient) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	if h.perIP[c.addr]--; h.perIP[c.addr] <= 0 {
		delete(h.perIP, c.addr)
	}
	c.drop()
}

// broadcast hands f to every client that wants its kind (a page frame:
// and its language), dropping those that cannot take it now.
func (h *Hub) broadcast(f *frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliver(f)
}

func (h *Hub) deliver(f *frame) {
	switch f.kind {
	case kindJSON:
		h.lastID = f.id
	case kindPage:
		h.pages[f.lang] = f
	}
	for c := range h.clients {
		if c.kinds&f.kind == 0 || f.kind == kindPage && c.lang != f.lang {
			continue
		}
		h.send(c, f)
	}
}

// send hands f to c, dropping c if it cannot take it now.
func (h *Hub) send(c *streamClient, f *frame) {
	select {
	case c.ch <- f:
	default:
		h.remove(c) // too slow: its buffer is full
	}
}

// publishPages broadcasts the page frames of a snapshot, one a language
// the page is shown in, each unless open pages already show it. Pages
// open in a language no longer offered are told to reload: no frame will
// come for them again.
func (h *Hub) publishPages(frames []*frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	offered := make(map[string]bool, len(frames))
	for _, f := range frames {
		offered[f.lang] = true
	}
	var gone []string
	for lang := range h.pages {
		if !offered[lang] {
			gone = append(gone, lang)
		}
	}
	for _, lang := range gone {
		delete(h.pages, lang)
	}
	if len(gone) > 0 {
		reload := &frame{kind: kindPage, bytes: reloadFrame(h.lastID, "the page is no longer shown in this language")}
		for c := range h.clients {
			if c.kinds&kindPage != 0 && !offered[c.lang] {
				h.send(c, reload)
			}
		}
	}
	for _, f := range frames {
		if f != h.pages[f.lang] {
			h.deliver(f)
		}
	}
}

// setPosition records the change-feed position at start, before any client
// connects, so that the first clients replay from the right place.
func (h *Hub) setPosition(lastID int64, pages map[string]*frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastID = lastID
	h.pages = maps.Clone(pages)
	if h.pages == nil {
		h.pages = map[string]*frame{}
	}
}

// position is the change-feed position and page fragments the hub is at,
// for a hub that takes over from this one.
func (h *Hub) position() (int64, map[string]*frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastID, maps.Clone(h.pages)
}

// advance moves the hub's change-feed position to id without an event (for
// ids that no event carries).
func (h *Hub) advance(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastID = max(h.lastID, id)
}

func (h *Hub) currentPage(lang string) *frame {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pages[lang]
}

// Close drops every client and refuses new ones; their handlers return.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		h.remove(c)
	}
}

// Clients is the number of open streams.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// newlines normalises every SSE line ending (CRLF, CR, LF) to LF.
var newlines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// encodeFrame writes one SSE event. data may hold newlines: each line gets
// its own "data:" field, as the SSE framing requires.
func encodeFrame(id int64, event string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + len(event) + 40)
	if id > 0 {
		b.WriteString("id: ")
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte('\n')
	}
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteByte('\n')
	for _, line := range strings.Split(newlines.Replace(string(data)), "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}
