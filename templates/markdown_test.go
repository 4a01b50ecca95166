package templates

import (
	"strings"
	"testing"
)

func TestMarkdownOffersImagesAsLinks(t *testing.T) {
	t.Parallel()
	got := RenderMarkdown("See ![the graph](https://cdn.example.com/g.png \"errors\") and ![](https://x.test/y.png)")
	if strings.Contains(got, "<img") {
		t.Fatalf("an image would load from another host: %s", got)
	}
	for _, want := range []string{`href="https://cdn.example.com/g.png"`, ">the graph</a>", `href="https://x.test/y.png"`, ">image</a>"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
}
