package main

// The HTTP client the commander commands (incident, maintenance,
// component) share: they talk to a running Herald over its JSON API, as
// any other program would, so that what the CLI does is exactly what the
// API allows and the audit log names the token that did it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// apiFlags are the flags of every command that talks to a running Herald.
type apiFlags struct {
	url, token *string
	json       *bool
}

// defaultURL is where `herald serve` listens by default.
const defaultURL = "http://127.0.0.1:8080"

func addAPIFlags(fs *flagSet) *apiFlags {
	return &apiFlags{
		url: fs.String("url", defaultURL, "the running Herald to talk to"),
		// Not fs.String: the environment's token would be shown as the
		// flag's default in -h, on a screen someone may be sharing.
		token: fs.FlagSet.String("token", "", "an API token (herald token create --role commander --name NAME prints one); prefer "+envName("token")+", which stays out of the shell history"),
		json:  fs.Bool("json", false, "print the API's JSON answer, for scripts, instead of a table"),
	}
}

// apiCommand is one subcommand of a command group that talks to Herald
// (herald incident update …): its flag set, with the API flags on it.
type apiCommand struct {
	sub  string
	args []string
	fs   *flagSet
	api  *apiFlags
}

// newAPICommand splits the subcommand off args, one of subs.
func newAPICommand(group string, args []string, stderr io.Writer, subs ...string) (*apiCommand, error) {
	say := "say " + strings.Join(subs[:len(subs)-1], ", ") + " or " + subs[len(subs)-1]
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: %s", group, say)
	}
	if !slices.Contains(subs, args[0]) {
		return nil, fmt.Errorf("%s: unknown subcommand %q; %s", group, args[0], say)
	}
	fs := newFlagSet("herald "+group+" "+args[0], stderr)
	return &apiCommand{sub: args[0], args: args[1:], fs: fs, api: addAPIFlags(fs)}, nil
}

// parse reads the flags and returns the positional arguments and the
// client the flags describe.
func (c *apiCommand) parse() ([]string, *apiClient, error) {
	pos, err := parseInterspersed(c.fs, c.args)
	if err != nil {
		return nil, nil, err
	}
	client, err := c.api.client()
	return pos, client, err
}

// client checks the flags and returns the API client they describe.
func (f *apiFlags) client() (*apiClient, error) {
	base, err := url.Parse(strings.TrimRight(*f.url, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--url %q: give Herald's address, such as https://status.example.com", *f.url)
	}
	token := strings.TrimSpace(*f.token)
	if token == "" {
		token = strings.TrimSpace(os.Getenv(envName("token")))
	}
	if token == "" {
		return nil, errors.New("no API token: pass --token or set HERALD_TOKEN (herald token create --role commander --name NAME prints one)")
	}
	return &apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiClient calls one Herald's /api/v1.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// apiError is an error answer of the API: {"error":{"code","message","field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string {
	msg := e.Message
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+":") {
		msg = e.Field + ": " + msg
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (check --token or HERALD_TOKEN)"
	case http.StatusForbidden:
		msg += " (the token's role does not allow this: see herald token list)"
	}
	return msg
}

// pageURL is the address of a public page of this Herald.
func (c *apiClient) pageURL(path string) string { return c.base.String() + path }

// call sends body (JSON, when not nil) to path, and returns the answer's
// JSON as it came when it is a success, or the API's error.
func (c *apiClient) call(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	u := c.base.JoinPath("/api/v1", path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "herald-cli/"+version())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Herald at %s (is it running? set --url or HERALD_URL): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, u.Path, err)
	}
	if resp.StatusCode >= 300 {
		var envelope struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(data, &envelope) != nil || envelope.Error == nil || envelope.Error.Message == "" {
			return nil, fmt.Errorf("%s %s: Herald answered %s, not with an API error (is %s a Herald?)", method, u.Path, resp.Status, c.base)
		}
		envelope.Error.Status = resp.StatusCode
		return nil, envelope.Error
	}
	return data, nil
}

// get is call for a GET whose answer is decoded into out.
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	data, err := c.call(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return nil, err
	}
	return data, decodeAnswer(path, data, out)
}

// send is call for a change whose answer is decoded into out.
func (c *apiClient) send(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	data, err := c.call(ctx, method, path, nil, body)
	if err != nil {
		return nil, err
	}
	return data, decodeAnswer(path, data, out)
}

func decodeAnswer(path string, data []byte, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: the answer is not what this herald expects (a different version?): %w", path, err)
	}
	return nil
}

// printJSON writes an answer as the API sent it, for scripts.
func printJSON(w io.Writer, data []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return fmt.Errorf("print JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// parseInterspersed parses args as flags and positional arguments in any
// order, as a commander types them (herald incident update ID --status
// monitoring "…"); the flag package alone stops at the first positional
// one. After "--" everything is positional. "-" (stdin) is positional.
func parseInterspersed(fs *flagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// listFlag is a flag given once per value: --component API=major_outage
// --component Web=degraded_performance.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var _ flag.Value = (*listFlag)(nil)
