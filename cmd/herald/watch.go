package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/r3labs/sse/v2"
	backoff "gopkg.in/cenkalti/backoff.v1"
)

// cmdWatch prints a status page's live events in a terminal, reconnecting
// (and catching up from the last event seen) when the connection drops.
func cmdWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	client := sse.NewClient(streamURL)
	client.Headers["User-Agent"] = "herald-watch/" + version()
	retry := backoff.NewExponentialBackOff()
	retry.MaxInterval = 15 * time.Second
	retry.MaxElapsedTime = 0 // keep trying until interrupted
	client.ReconnectStrategy = retry
	client.ResponseValidator = func(c *sse.Client, resp *http.Response) error {
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		resp.Body.Close()
		err := fmt.Errorf("%s answered %s", streamURL, resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return backoff.Permanent(err)
		}
		return err
	}
	client.OnDisconnect(func(*sse.Client) { fmt.Fprintln(stdout, "… connection lost, reconnecting") })
	client.ReconnectNotify = func(err error, wait time.Duration) {
		fmt.Fprintf(stderr, "… %v; retrying in %s\n", err, wait.Round(time.Second))
	}

	fmt.Fprintf(stdout, "Watching %s (Ctrl-C to stop)\n", streamURL)
	err = client.SubscribeRawWithContext(ctx, func(ev *sse.Event) {
		if *raw {
			fmt.Fprintf(stdout, "%s %s %s\n", ev.ID, ev.Event, ev.Data)
			return
		}
		fmt.Fprintln(stdout, describeEvent(string(ev.Event), ev.Data))
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("watch: %w", err)
	}
	return nil
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
		body := strings.Join(strings.Fields(obj.Updates[0].Body), " ")
		if len(body) > 100 {
			body = body[:97] + "..."
		}
		line += " — " + body
	}
	return line
}
