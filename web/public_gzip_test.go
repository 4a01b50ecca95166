package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// A page compressed around a piece compressed earlier is one ordinary gzip
// stream that gives back the page, wherever the piece stands in it.
func TestPageWithReusedPieceDecompresses(t *testing.T) {
	t.Parallel()
	piece, err := deflatePiece([]byte(strings.Repeat("<li>the component list</li>", 500)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, before, after string }{
		{"in the middle", "<html><body>", "</body></html>"},
		{"at the start", "", "</body></html>"},
		{"at the end", "<html><body>", ""},
		{"after text like its start", "<li>the component", "tail"},
		{"absent", "<html>no piece here", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.before + string(piece.raw) + tt.after)
			if tt.name == "absent" {
				body = []byte(tt.before)
			}
			p, err := newPageWith(body, "text/html", piece)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(p.gzip))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr) // checks the CRC and length too
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("gzip gives back %d bytes (%v), want the %d of the page", len(got), err, len(body))
			}
			if tt.name != "absent" && !bytes.Contains(p.gzip, piece.data) {
				t.Error("the piece was compressed again, not reused")
			}
		})
	}
}
