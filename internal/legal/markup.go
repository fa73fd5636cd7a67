package legal

import (
	"regexp"
	"strings"
)

// The texts are plain text with a light markup, so that an admin can write
// a legal page without writing HTML, and a page can never carry script or
// markup the admin did not mean (the web layer escapes every piece):
//
//	# A heading            a section heading
//	## A smaller heading   a sub-heading
//	- an item              a bulleted list (consecutive lines)
//	a line                 a paragraph; consecutive lines join, a blank line ends it
//	[[Something to fill]]  a placeholder the store must replace before it is true
//
// A placeholder is left in the shipped first versions where only the store
// knows the answer (its name, address, registration): pages show it marked,
// and the admin pages warn while one remains in force.

// Block is one piece of a rendered page.
type Block struct {
	// Kind is "h2", "h3", "p" or "ul".
	Kind string
	// Text is the heading's or paragraph's content.
	Text []Segment
	// Items are a list's entries.
	Items [][]Segment
}

// Segment is a run of text, or a placeholder still to fill.
type Segment struct {
	Text        string
	Placeholder bool
}

var placeholderRE = regexp.MustCompile(`\[\[([^\[\]\n]{1,200})\]\]`)

// Render reads a text into blocks.
func Render(text string) []Block {
	var out []Block
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, Block{Kind: "p", Text: segments(strings.Join(para, " "))})
			para = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "## "):
			flush()
			out = append(out, Block{Kind: "h3", Text: segments(strings.TrimSpace(line[3:]))})
		case strings.HasPrefix(line, "# "):
			flush()
			out = append(out, Block{Kind: "h2", Text: segments(strings.TrimSpace(line[2:]))})
		case strings.HasPrefix(line, "- "):
			flush()
			item := segments(strings.TrimSpace(line[2:]))
			if n := len(out); n > 0 && out[n-1].Kind == "ul" {
				out[n-1].Items = append(out[n-1].Items, item)
			} else {
				out = append(out, Block{Kind: "ul", Items: [][]Segment{item}})
			}
		default:
			para = append(para, line)
		}
	}
	flush()
	return out
}

func segments(s string) []Segment {
	var out []Segment
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			out = append(out, Segment{Text: s[last:m[0]]})
		}
		out = append(out, Segment{Text: strings.TrimSpace(s[m[2]:m[3]]), Placeholder: true})
		last = m[1]
	}
	if last < len(s) {
		out = append(out, Segment{Text: s[last:]})
	}
	return out
}

// Placeholders lists the distinct placeholders left in the texts, in the
// order they first appear.
func Placeholders(texts ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range texts {
		for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
			p := strings.TrimSpace(m[1])
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}
