package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// maxBodyBytes caps every API request body.
const maxBodyBytes = 1 << 20

// apiError is the one error shape of the API:
// {"error":{"code":"…","message":"…","field":"…"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// decodeJSON reads the request body into dst strictly: one JSON object, no
// unknown fields, at most maxBodyBytes, its strings valid UTF-8.
func decodeJSON(c echo.Context, dst any) error { return decodeBody(c, dst, true) }

// decodeBody is decodeJSON, with the unknown-field check only when strict:
// payloads whose shape another program owns (Alertmanager's) may grow fields.
func decodeBody(c echo.Context, dst any, strict bool) error {
	req := c.Request()
	if ct := req.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the body as application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, maxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("malformed_json", "", "the body must hold a single JSON object")
	}
	// null decodes into anything without an error, leaving it empty: it
	// is not an object, and must not pass for an empty one.
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("null")) {
		return badRequest("invalid_type", "", "the body must be a JSON object, not null")
	}
	// The decoder turns bytes that are not UTF-8 (and escaped halves of
	// surrogate pairs) into U+FFFD without a word, so the store's own
	// check never sees them: look at the bytes as sent.
	if at := badTextAt(body); at >= 0 {
		field := stringFieldAt(body, at)
		return badRequest("invalid_utf8", field, "%s holds text that is not valid UTF-8", fieldName(field))
	}
	return nil
}

// badTextAt is the offset of the first string character in a JSON text
// that does not stand for a Unicode character — a byte that is not UTF-8,
// or a \u escape of half a surrogate pair — or -1 when there is none.
// Outside strings, the decoder has already refused anything but ASCII.
func badTextAt(body []byte) int {
	inString := false
	for i := 0; i < len(body); {
		b := body[i]
		switch {
		case b >= utf8.RuneSelf:
			if r, n := utf8.DecodeRune(body[i:]); r == utf8.RuneError && n <= 1 {
				return i
			} else {
				i += n
			}
			continue
		case b == '"':
			inString = !inString
		case inString && b == '\\' && i+1 < len(body):
			if body[i+1] != 'u' {
				i += 2
				continue
			}
			r := hexRune(body[i+2:])
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00 && utf16.DecodeRune(r, lowSurrogate(body[i+6:])) != utf8.RuneError:
				i += 12 // a whole pair
				continue
			case utf16.IsSurrogate(r):
				return i
			}
			i += 6
			continue
		}
		i++
	}
	return -1
}

// hexRune reads the four hex digits of a \u escape (the decoder has
// already checked they are there).
func hexRune(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
}

// lowSurrogate is the rune of a \uXXXX escape at the start of b, or -1.
func lowSurrogate(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	return hexRune(b[2:])
}

// stringFieldAt names the field whose string (or key) holds offset at of a
// JSON object, as a dotted path of keys ("name", "components.abc").
func stringFieldAt(body []byte, at int) string {
	type level struct {
		object, wantKey bool
		key             string
	}
	var stack []level
	path := func() string {
		var keys []string
		for _, l := range stack {
			if l.object && l.key != "" {
				keys = append(keys, l.key)
			}
		}
		return strings.Join(keys, ".")
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		inside := int(dec.InputOffset()) > at
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			stack[n-1].key, stack[n-1].wantKey = fmt.Sprint(tok), false
		} else {
			valueDone()
		}
		if inside {
			return path()
		}
	}
}

// bodyTooLarge reports whether reading the body failed because it is over
// the limit: ours, or the BodyLimit middleware's when the body came without a
// Content-Length (chunked) and so was not refused before the handler ran.
func bodyTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	var he *echo.HTTPError
	return errors.As(err, &tooLarge) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge)
}

// jsonError explains a decoding failure in terms of the request.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case bodyTooLarge(err):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("the request body is over %d bytes", maxBodyBytes)}
	case errors.Is(err, io.EOF):
		return badRequest("malformed_json", "", "the request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", "", "the body is not valid JSON: %v", err)
	case errors.As(err, &typeErr):
		return badRequest("invalid_type", typeErr.Field, "%s must be a JSON %s, not %s", fieldName(typeErr.Field), jsonTypeName(typeErr.Type), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest("unknown_field", field, "unknown field %q", field)
	}
	return badRequest("malformed_json", "", "the body could not be read: %v", err)
}

// jsonTypeName names a Go type as the JSON a client should send, so that
// errors speak JSON rather than Go ("integer", not "*int").
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

// httpErrorHandler turns every error a handler returns into the API's error
// shape (under /api) or a plain page (elsewhere), and logs server faults.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := s.classify(err)
	if e.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "5")
	}
	if e.Status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		if e.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		}
		if werr := c.JSON(e.Status, map[string]*apiError{"error": e}); werr != nil {
			s.log.Error("write error response", "err", werr)
		}
		return
	}
	if e.Status == http.StatusNotFound {
		if werr := s.notFoundPage(c, "error.page_not_found", "error.nothing_here"); werr != nil {
			s.log.Error("write error page", "err", werr)
		}
		return
	}
	text := http.StatusText(e.Status)
	if e.Status == http.StatusServiceUnavailable {
		text = e.Message
	}
	if werr := c.String(e.Status, text+"\n"); werr != nil {
		s.log.Error("write error response", "err", werr)
	}
}

// classify maps an error to a status and an API error body.
func (s *Server) classify(err error) *apiError {
	var ae *apiError
	var ve *store.ValidationError
	var ce *store.ConflictError
	var nf *store.NotFoundError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_value", Field: ve.Field, Message: ve.Error()}
	case errors.As(err, &nf):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: nf.Error()}
	case errors.As(err, &ce):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: ce.Message}
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		code := strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "_")
		if he.Code == http.StatusRequestEntityTooLarge {
			code = "body_too_large"
		}
		return &apiError{Status: he.Code, Code: code, Message: msg}
	case s.store.CannotWrite(err):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "database_cannot_write",
			Message: "the database cannot save changes right now (its disk may be full, or it is read-only or failing), so nothing was changed; the status page keeps being served as it last was. Tell the operator, and try again once it is fixed"}
	case s.store.Unavailable(err):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "database_unavailable",
			Message: "the database cannot be reached right now, so nothing can be changed; the status page keeps being served as it last was. Try again in a moment"}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "something went wrong on our side; it has been logged"}
}

// pageParams reads limit (1 to max) and offset from the query.
func pageParams(c echo.Context, def, maxLimit int) (limit, offset int, err error) {
	limit = def
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, badRequest("invalid_value", "limit", "limit must be a number from 1 to %d", maxLimit)
		}
		limit = n
	}
	if v := c.QueryParam("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, badRequest("invalid_value", "offset", "offset must be a number from 0")
		}
		offset = n
	}
	return limit, offset, nil
}

// skipNotify reads the API's "notify" switch: absent means notify.
func skipNotify(notify *bool) bool { return notify != nil && !*notify }

// deref is *p, or the zero value when p is nil (a field the request left out).
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// writeCSV sends a CSV download: the header row, then the rows that rows
// writes through row. Every cell is defused (csvCell) and every row's write
// is checked. Once the status line has gone, a failure can only cut the
// file short, which the client sees as a failed download; it is logged.
func (s *Server) writeCSV(c echo.Context, filename string, header []string, rows func(row func(cells ...string) error) error) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	// Exports hold personal data: no cache keeps a copy.
	h.Set("Cache-Control", "private, no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(newDeadlineWriter(c))
	row := func(cells ...string) error {
		for i, v := range cells {
			cells[i] = csvCell(v)
		}
		return w.Write(cells)
	}
	err := row(header...)
	if err == nil {
		err = rows(row)
	}
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil {
		s.log.Error("csv export cut short", "file", filename, "err", err)
	}
	return nil
}

// deadlineWriter moves a long download's write deadline on before each
// write: the server's WriteTimeout then bounds how long one write of it may
// take (a client that stops reading is still cut off) rather than the
// whole download, which for a large export, or one the database is slow
// to produce, may take longer.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func newDeadlineWriter(c echo.Context) *deadlineWriter {
	timeout := ResponseWriteTimeout
	if hs, ok := c.Request().Context().Value(http.ServerContextKey).(*http.Server); ok && hs.WriteTimeout > 0 {
		timeout = hs.WriteTimeout
	}
	return &deadlineWriter{w: c.Response(), rc: http.NewResponseController(c.Response()), timeout: timeout}
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	// A writer without deadlines (a test's recorder) just writes.
	if err := d.rc.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, fmt.Errorf("move the write deadline on: %w", err)
	}
	return d.w.Write(p)
}

// csvCell keeps a spreadsheet from running a value as a formula: names,
// emails and messages are user-supplied, and "=HYPERLINK(…)" in a component
// name must stay text when an auditor opens the export.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
