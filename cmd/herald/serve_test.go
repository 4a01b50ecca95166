package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
)

// --max-streams-per-ip reaches the server as given: 0 is no limit there as
// here. (A negative number is refused before anything starts: see
// TestServeIntegrationFlags.)
func TestServeMaxStreamsPerIP(t *testing.T) {
	for _, tt := range []struct {
		value string
		open  int // streams opened from one address
		want  int // status of the last one
	}{
		{"1", 2, http.StatusTooManyRequests},
		{"0", 40, http.StatusOK},
	} {
		t.Run(tt.value, func(t *testing.T) {
			url, _, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "h.db"), "--max-streams-per-ip", tt.value)
			defer stop()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel() // closes the streams before the server stops
			var last int
			for range tt.open {
				req, err := http.NewRequestWithContext(ctx, "GET", url+"/events?types=json", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				last = resp.StatusCode
			}
			if last != tt.want {
				t.Errorf("stream %d with --max-streams-per-ip %s: %d, want %d", tt.open, tt.value, last, tt.want)
			}
		})
	}
}
