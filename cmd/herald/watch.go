package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// cmdWatch prints a status page's live events in a terminal, reconnecting
// (and catching up from the last event seen) when the connection drops,
// until it is interrupted (Ctrl-C, SIGTERM), which ends it with status 0.
func cmdWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Everything watch prints comes, in part, from a server: a name, a
	// body, an event type, an error page. Shown raw, their escape
	// sequences would drive the terminal.
	stdout, stderr = terminalSafe{stdout}, terminalSafe{stderr}
	fs := newFlagSet("herald watch", stderr)
	raw := fs.Bool("raw", false, "print each event's JSON as received")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("watch: give the status page's URL, e.g. herald watch https://status.example.com")
	}
	streamURL, err := eventsURL(fs.Arg(0))
	if err != nil {
		return err
	}
	w := &watcher{url: streamURL, client: &http.Client{}, status: stderr, retry: 2 * time.Second}
	fmt.Fprintf(stdout, "Watching %s (Ctrl-C to stop)\n", streamURL)
	err = w.run(ctx, func(ev streamEvent) {
		if *raw {
			fmt.Fprintf(stdout, "%s %s %s\n", ev.id, ev.name, ev.data)
			return
		}
		fmt.Fprintln(stdout, describeEvent(ev.name, []byte(ev.data)))
	})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	fmt.Fprintln(stderr, "Stopped watching.")
	return nil
}

// watcher follows one Server-Sent Events stream for as long as it is
// asked to. It is written here rather than taken from an SSE library:
// the one Herald used (r3labs/sse) took a server that closed the stream
// for a clean end, so `herald watch` exited 0 when Herald restarted, and
// it slept between retries without looking at its context, so Ctrl-C and
// SIGTERM went unheard while it waited to reconnect.
type watcher struct {
	url    string
	client *http.Client
	status io.Writer // where connection news goes (stderr: stdout is for events)

	lastID string        // sent as Last-Event-ID, so a reconnection catches up
	retry  time.Duration // the first wait before reconnecting; the server may set it
	seen   bool          // connected at least once
}

// streamEvent is one dispatched event.
type streamEvent struct{ id, name, data string }

// maxRetry caps the wait between reconnection attempts.
const maxRetry = 15 * time.Second

// permanent marks an answer that trying again will not change (a 404, a
// page that is not an event stream).
type permanent struct{ error }

// run follows the stream until ctx ends (nil) or the server answers in a
// way that retrying cannot mend (that error). Every other failure, a
// server going away included, is retried with a growing wait.
func (w *watcher) run(ctx context.Context, handle func(streamEvent)) error {
	failures := 0
	for {
		connected, err := w.follow(ctx, handle)
		if ctx.Err() != nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		if connected {
			failures = 0
			fmt.Fprintf(w.status, "… %v; reconnecting\n", err)
		}
		failures++
		wait := w.backoff(failures)
		if !connected {
			fmt.Fprintf(w.status, "… %v; retrying in %s\n", err, wait.Round(100*time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// backoff is the wait before attempt n (from 1): the server's suggested
// retry, doubling with every failure up to maxRetry, with some jitter so
// that many watchers do not come back in step.
func (w *watcher) backoff(n int) time.Duration {
	d := w.retry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	d = min(d, maxRetry)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// follow makes one connection and reads events from it until it ends. It
// reports whether the server accepted the stream, and why it ended.
func (w *watcher) follow(ctx context.Context, handle func(streamEvent)) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return false, permanent{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("User-Agent", "herald-watch/"+version())
	if w.lastID != "" {
		req.Header.Set("Last-Event-ID", w.lastID)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("%s answered %s", w.url, resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return false, permanent{err}
		}
		return false, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, permanent{fmt.Errorf("%s is not an event stream (Content-Type %q): is it a Herald status page?", w.url, resp.Header.Get("Content-Type"))}
	}
	if w.seen {
		fmt.Fprintln(w.status, "… reconnected")
	}
	w.seen = true
	if err := w.read(resp.Body, handle); err != nil {
		return true, fmt.Errorf("connection lost: %w", err)
	}
	return true, errors.New("the server closed the stream")
}

// read parses the event stream format (the HTML standard's): fields up to
// a blank line make one event; comment lines, such as heartbeats, are
// skipped. It returns nil when the stream ends cleanly.
func (w *watcher) read(body io.Reader, handle func(streamEvent)) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20) // an incident with a long timeline is one data line
	var ev streamEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if ev.id != "" {
				w.lastID = ev.id
			}
			if len(data) > 0 {
				ev.data = strings.Join(data, "\n")
				if ev.name == "" {
					ev.name = "message"
				}
				if ev.id == "" {
					ev.id = w.lastID
				}
				handle(ev)
			}
			ev, data = streamEvent{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.id = value
			}
		case "event":
			ev.name = value
		case "data":
			data = append(data, value)
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms > 0 {
				w.retry = min(time.Duration(ms)*time.Millisecond, maxRetry)
			}
		}
	}
	return sc.Err()
}

// eventsURL turns a page URL into its JSON event stream's URL.
func eventsURL(page string) (string, error) {
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("watch: %q is not an http(s) URL", page)
	}
	if !strings.HasSuffix(u.Path, "/events") {
		u.Path = strings.TrimRight(u.Path, "/") + "/events"
	}
	q := u.Query()
	if q.Get("types") == "" {
		q.Set("types", "json")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// describeEvent is one line a person reads: time, what happened, to what.
func describeEvent(name string, data []byte) string {
	var obj struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Impact  string `json:"impact"`
		Reason  string `json:"reason"`
		Updates []struct {
			Body string `json:"body"`
		} `json:"incident_updates"`
	}
	stamp := time.Now().UTC().Format("15:04:05Z")
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Sprintf("%s %-22s %s", stamp, name, data)
	}
	line := fmt.Sprintf("%s %-22s %s", stamp, name, obj.Name)
	switch {
	case name == "reload":
		return fmt.Sprintf("%s %-22s %s: what changed meanwhile is not shown; refetch the page", stamp, name, obj.Reason)
	case obj.Status != "":
		line += " [" + strings.ReplaceAll(obj.Status, "_", " ") + "]"
	}
	if obj.Impact != "" && obj.Impact != "none" {
		line += " impact " + obj.Impact
	}
	if len(obj.Updates) > 0 {
		body := []rune(strings.Join(strings.Fields(obj.Updates[0].Body), " "))
		if len(body) > 100 {
			body = append(body[:97], []rune("...")...)
		}
		line += " — " + string(body)
	}
	return line
}

// terminalSafe writes text for a terminal with every character that would
// act on it instead of showing — control characters (C0 but the line break,
// DEL, C1: ESC sequences, OSC 52's clipboard writes, the bell), the bidi
// controls that reorder what is shown, bytes that are not UTF-8 — written
// out as a visible escape such as \x1b, so that a page cannot retitle the
// terminal, clear it, or spoof a line of output.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	if _, err := io.WriteString(t.w, neutralise(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func neutralise(s string) string {
	if !strings.ContainsFunc(s, acts) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\ufffd"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case acts(r):
			b.WriteString(strings.Trim(strconv.QuoteRuneToASCII(r), "'"))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// acts reports whether r does something to a terminal rather than show.
func acts(r rune) bool {
	return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))
}
