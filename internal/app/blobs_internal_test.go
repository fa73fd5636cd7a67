package app

import (
	"context"
	"strings"
	"testing"

	"comptoir/internal/blob/s3test"
	"comptoir/internal/config"
)

// A bucket that does not exist, or a bad --blob-url, stops the start with a
// configuration error naming the problem.
func TestBadBlobSettingsAreConfigurationErrors(t *testing.T) {
	s3 := s3test.Start(t)
	for _, tc := range []struct{ url, want string }{
		{strings.Replace(s3.URL("x"), s3test.Bucket, "no-such-bucket", 1), "no-such-bucket"},
		{"s3://b/x?endpoint=http://host:9000", "endpoint"},
		{"s3://b/x?endpont=host:9000", "endpont"},
		{"s3://b/a//b", "prefix"},
	} {
		_, err := openBlobs(context.Background(), &config.Config{BlobURL: tc.url, DataDir: t.TempDir()})
		if !config.IsUsage(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.url, err)
		}
	}
}
