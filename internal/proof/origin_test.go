package proof

import "testing"

// An allowed origin is kept in the form browsers send in Origin, so that
// what the admin typed matches: lower case, no path, and no port when it
// is the scheme's default.
func TestParseOrigin(t *testing.T) {
	for _, tt := range []struct {
		raw, want string
		ok        bool
	}{
		{"https://blog.example.com", "https://blog.example.com", true},
		{" HTTPS://Blog.Example.com/ ", "https://blog.example.com", true},
		{"https://blog.example.com:443", "https://blog.example.com", true},
		{"http://blog.example.com:80/", "http://blog.example.com", true},
		{"https://blog.example.com:", "https://blog.example.com", true},
		{"https://blog.example.com:8443", "https://blog.example.com:8443", true},
		{"http://blog.example.com:443", "http://blog.example.com:443", true},
		{"https://[::1]:443", "https://[::1]", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"blog.example.com", "", false},
		{"https://blog.example.com/path", "", false},
		{"https://user@blog.example.com", "", false},
		{"https://blog.example.com/?q=1", "", false},
		{"ftp://blog.example.com", "", false},
		{"https://", "", false},
	} {
		got, ok := ParseOrigin(tt.raw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}
