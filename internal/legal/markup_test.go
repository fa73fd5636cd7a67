package legal

import (
	"reflect"
	"testing"
)

func TestRender(t *testing.T) {
	got := Render("# Title\r\nfirst line\nsecond <b>line</b>\n\n## Sub\n- one [[Name]]\n- two\nafter\n")
	want := []Block{
		{Kind: "h2", Text: []Segment{{Text: "Title"}}},
		{Kind: "p", Text: []Segment{{Text: "first line second <b>line</b>"}}},
		{Kind: "h3", Text: []Segment{{Text: "Sub"}}},
		{Kind: "ul", Items: [][]Segment{{{Text: "one "}, {Text: "Name", Placeholder: true}}, {{Text: "two"}}}},
		{Kind: "p", Text: []Segment{{Text: "after"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Render:\n got %+v\nwant %+v", got, want)
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders("a [[Name]] b [[ Address ]] [[Name]]", "[[Name]] [[VAT]] [not one] [[]]")
	if want := []string{"Name", "Address", "VAT"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Placeholders = %q", got)
	}
}
