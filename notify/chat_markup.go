package notify

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// chatMarkup is one chat's text markup: how it writes what a commander's
// Markdown says, and how it escapes what it would otherwise read as markup.
type chatMarkup struct {
	escape              func(string) string
	strong, em, strike  [2]string // before and after the text; empty for none
	code                [2]string
	link                func(url, text string) string
	codeBlock           func(code string) string // the code is unescaped
	heading             func(text string) string // text already marked up
	newline             string
	bullet              string
	quote               string // before each line of a block quote
	plainLinksAfterText bool   // a link the chat cannot mark up is "text (url)"
}

var chatMarkdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// chatBlock is one paragraph, list item, heading or code block of a
// message, marked up, and as plain escaped text for when it must be cut.
type chatBlock struct {
	markup, plain string
	// tight is a list item after the first of a tight list: it follows the
	// one before on the next line, not after a blank one.
	tight bool
}

// blocks renders Markdown src block by block, so that a long message can be
// cut between blocks rather than inside a link or a bold run.
func (m *chatMarkup) blocks(src string) []chatBlock {
	source := []byte(src)
	doc := chatMarkdown.Parser().Parse(text.NewReader(source))
	w := &markupWriter{m: m, src: source}
	plain := &markupWriter{m: &chatMarkup{escape: m.escape, link: func(_, t string) string { return t }, newline: m.newline, bullet: m.bullet,
		codeBlock: func(c string) string { return m.escape(c) }, heading: func(t string) string { return t }}, src: source}
	var out []chatBlock
	w.each(doc, func(n ast.Node, prefix string, tight bool) {
		mk, pl := prefix+w.block(n), prefix+plain.block(n)
		if strings.TrimSpace(mk) != "" {
			out = append(out, chatBlock{markup: mk, plain: pl, tight: tight && len(out) > 0})
		}
	})
	return out
}

type markupWriter struct {
	m   *chatMarkup
	src []byte
}

// each calls f for every leaf block of n: list items one by one, with the
// bullet or number (and indent) they show behind.
func (w *markupWriter) each(n ast.Node, f func(n ast.Node, prefix string, tight bool)) {
	w.eachIndent(n, "", f)
}

func (w *markupWriter) eachIndent(n ast.Node, indent string, f func(ast.Node, string, bool)) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch b := c.(type) {
		case *ast.List:
			i := b.Start
			for item := b.FirstChild(); item != nil; item = item.NextSibling() {
				mark := w.m.bullet
				if b.IsOrdered() {
					mark = strconv.Itoa(i) + ". "
					i++
				}
				first := true
				for part := item.FirstChild(); part != nil; part = part.NextSibling() {
					if l, ok := part.(*ast.List); ok {
						wrap := ast.NewDocument()
						wrap.AppendChild(wrap, cloneList(l))
						w.eachIndent(wrap, indent+"    ", func(n ast.Node, p string, _ bool) { f(n, p, b.IsTight) })
						continue
					}
					p := indent + "    "
					if first {
						p = indent + mark
					}
					f(part, p, b.IsTight && (item != b.FirstChild() || !first))
					first = false
				}
			}
		case *ast.Blockquote:
			w.eachIndent(b, indent+w.m.quote, f)
		default:
			f(c, indent, false)
		}
	}
}

// cloneList moves a nested list under a fresh parent so it can be walked
// like a top-level one; the tree is thrown away after rendering.
func cloneList(l *ast.List) *ast.List {
	n := ast.NewList(l.Marker)
	n.IsTight, n.Start = l.IsTight, l.Start
	for c := l.FirstChild(); c != nil; {
		next := c.NextSibling()
		n.AppendChild(n, c)
		c = next
	}
	return n
}

// block renders one leaf block.
func (w *markupWriter) block(n ast.Node) string {
	var b strings.Builder
	switch n := n.(type) {
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		var code bytes.Buffer
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			code.Write(seg.Value(w.src))
		}
		return w.m.codeBlock(strings.TrimRight(code.String(), "\n"))
	case *ast.Heading:
		w.inline(&b, n)
		return w.m.heading(b.String())
	case *ast.ThematicBreak:
		return "—"
	case *east.Table:
		// Chats have no tables: one line per row, cells between bars.
		for row := n.FirstChild(); row != nil; row = row.NextSibling() {
			if b.Len() > 0 {
				b.WriteString(w.m.newline)
			}
			for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
				if cell != row.FirstChild() {
					b.WriteString(" · ")
				}
				w.inline(&b, cell)
			}
		}
		return b.String()
	case *ast.HTMLBlock:
		return "" // raw HTML is dropped, as on the page
	}
	w.inline(&b, n)
	return b.String()
}

// inline renders the inline children of n.
func (w *markupWriter) inline(b *strings.Builder, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.WriteString(w.m.escape(string(c.Segment.Value(w.src))))
			if c.HardLineBreak() || c.SoftLineBreak() {
				if c.HardLineBreak() {
					b.WriteString(w.m.newline)
				} else {
					b.WriteString(" ")
				}
			}
		case *ast.String:
			b.WriteString(w.m.escape(string(c.Value)))
		case *ast.CodeSpan:
			var code strings.Builder
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if s, ok := t.(*ast.Text); ok {
					code.Write(s.Segment.Value(w.src))
				}
			}
			w.wrap(b, w.m.code, w.m.escape(code.String()))
		case *ast.Emphasis:
			var in strings.Builder
			w.inline(&in, c)
			mark := w.m.em
			if c.Level >= 2 {
				mark = w.m.strong
			}
			w.wrap(b, mark, in.String())
		case *east.Strikethrough:
			var in strings.Builder
			w.inline(&in, c)
			w.wrap(b, w.m.strike, in.String())
		case *ast.Link:
			var in strings.Builder
			w.inline(&in, c)
			b.WriteString(w.linkTo(string(c.Destination), in.String()))
		case *ast.Image:
			// Chats would fetch a remote image; offer it as a link instead.
			var in strings.Builder
			w.inline(&in, c)
			if in.Len() == 0 {
				in.WriteString("image")
			}
			b.WriteString(w.linkTo(string(c.Destination), in.String()))
		case *ast.AutoLink:
			u := string(c.URL(w.src))
			if c.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(u, "mailto:") {
				u = "mailto:" + u
			}
			b.WriteString(w.linkTo(u, w.m.escape(string(c.Label(w.src)))))
		case *ast.RawHTML:
			// dropped, as on the page
		default:
			w.inline(b, c)
		}
	}
}

// linkTo links only to http(s) and mailto targets; anything else (a
// javascript: link, a relative path the chat cannot resolve) stays text.
func (w *markupWriter) linkTo(dest, label string) string {
	lower := strings.ToLower(dest)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "mailto:") {
		return label
	}
	return w.m.link(dest, label)
}

func (w *markupWriter) wrap(b *strings.Builder, mark [2]string, s string) {
	if strings.TrimSpace(s) == "" {
		b.WriteString(s)
		return
	}
	b.WriteString(mark[0])
	b.WriteString(s)
	b.WriteString(mark[1])
}

// both is a mark written the same on both sides of the text.
func both(m string) [2]string { return [2]string{m, m} }

// chatLen is a text's length as the chats count it: UTF-16 code units,
// which is what JavaScript's length (Discord) and Slack count, and never
// less than the number of characters.
func chatLen(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// cutText shortens plain text to at most limit (in chatLen units),
// at a word boundary where one is near, and marks the cut with "…".
func cutText(s string, limit int) string {
	if chatLen(s) <= limit {
		return s
	}
	if limit <= 1 {
		return "…"
	}
	n, end := 0, 0
	for i, r := range s {
		l := max(utf16.RuneLen(r), 1)
		if n+l > limit-1 {
			break
		}
		n += l
		end = i + len(string(r))
	}
	cut := s[:end]
	if sp := strings.LastIndexAny(cut, " \n\t"); sp > len(cut)*2/3 {
		cut = cut[:sp]
	}
	return strings.TrimRight(cut, " \n\t.,;:") + "…"
}

// fitBlocks joins blocks with sep within limit. When they do not all fit it
// keeps the whole blocks that do, cuts the next one as plain text when
// enough room is left for that to say something, and ends with more (a
// "Read more" link to the full text).
func fitBlocks(blocks []chatBlock, sep, newline string, limit int, more string) string {
	var all strings.Builder
	for i, b := range blocks {
		if i > 0 {
			all.WriteString(b.between(sep, newline))
		}
		all.WriteString(b.markup)
	}
	if chatLen(all.String()) <= limit {
		return all.String()
	}
	room := limit - chatLen(sep) - chatLen(more)
	var kept strings.Builder
	used := 0
	for i, b := range blocks {
		gap := ""
		if i > 0 {
			gap = b.between(sep, newline)
		}
		if l := chatLen(gap) + chatLen(b.markup); used+l <= room {
			kept.WriteString(gap + b.markup)
			used += l
			continue
		}
		if left := room - used - chatLen(gap); left >= 40 || i == 0 {
			kept.WriteString(gap + cutText(b.plain, max(left, 1)))
		}
		break
	}
	if kept.Len() == 0 {
		return more
	}
	return kept.String() + sep + more
}

// between is what goes before b: a line break in a tight list, else sep.
func (b chatBlock) between(sep, newline string) string {
	if b.tight {
		return newline
	}
	return sep
}

// escCut is cutText for text that is escaped afterwards: the escaped result
// stays within limit too.
func escCut(esc func(string) string, s string, limit int) string {
	n := limit
	for {
		out := esc(cutText(s, n))
		over := chatLen(out) - limit
		if over <= 0 || n <= 1 {
			return out
		}
		n = max(n-over, 1)
	}
}

// backslashMarkdown is a chat's Markdown that escapes each of specials
// with a backslash and writes links as [text](url).
func backslashMarkdown(specials string, em, strike [2]string) *chatMarkup {
	var pairs []string
	for _, r := range specials {
		pairs = append(pairs, string(r), `\`+string(r))
	}
	esc := strings.NewReplacer(pairs...).Replace
	return &chatMarkup{
		escape: esc,
		strong: both("**"), em: em, strike: strike, code: both("`"),
		link: func(url, text string) string {
			return "[" + text + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(url) + ")"
		},
		codeBlock: func(code string) string { return "```\n" + strings.ReplaceAll(code, "```", "`\u200b``") + "\n```" },
		heading:   func(t string) string { return "**" + t + "**" },
		newline:   "\n", bullet: "- ", quote: "> ",
	}
}

// fitBytes renders with a shrinking budget of update text until the body
// is at most limit bytes: for chats whose limit is on the whole payload.
func fitBytes(limit int, render func(budget int) ([]byte, error)) ([]byte, error) {
	budget := 20000
	for {
		raw, err := render(budget)
		if err != nil {
			return nil, err
		}
		if len(raw) <= limit {
			return raw, nil
		}
		if budget <= 100 {
			return nil, fmt.Errorf("%d bytes even without the update; the limit is %d", len(raw), limit)
		}
		budget = budget * limit / len(raw) * 9 / 10
	}
}
