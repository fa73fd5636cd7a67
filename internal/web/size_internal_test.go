package web

import (
	"testing"

	"comptoir/internal/locale"
)

func TestFormatSize(t *testing.T) {
	m := locale.MustLoad()
	for _, tc := range []struct {
		n      int64
		fr, en string
	}{
		{0, "0\u00a0octets", "0\u00a0bytes"},
		{1023, "1\u202f023\u00a0octets", "1,023\u00a0bytes"},
		{1024, "1\u00a0Ko", "1\u00a0KB"},
		{183245, "179\u00a0Ko", "179\u00a0KB"},
		{1024*1024 - 1, "1,0\u00a0Mo", "1.0\u00a0MB"},
		{2516582, "2,4\u00a0Mo", "2.4\u00a0MB"},
		{10*1024*1024 - 1, "10\u00a0Mo", "10\u00a0MB"},
		{50 * 1024 * 1024, "50\u00a0Mo", "50\u00a0MB"},
	} {
		if got := formatSize(m, tc.n, locale.FR); got != tc.fr {
			t.Errorf("%d in French: %q, want %q", tc.n, got, tc.fr)
		}
		if got := formatSize(m, tc.n, locale.EN); got != tc.en {
			t.Errorf("%d in English: %q, want %q", tc.n, got, tc.en)
		}
	}
}
