// Package s3test runs an S3 service for tests: gofakes3 in memory, served
// over a real loopback HTTP listener, so that the real S3 client speaks
// real S3 HTTP (signatures, chunked uploads, error documents) to it.
package s3test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Bucket is the bucket the server starts with.
const Bucket = "comptoir-test"

// Server is a running fake S3 service.
type Server struct {
	Backend *s3mem.Backend
	// Endpoint is host:port of the listener.
	Endpoint string
}

// Start runs a fake S3 service with an empty Bucket until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return &Server{Backend: backend, Endpoint: strings.TrimPrefix(srv.URL, "http://")}
}

// URL is a --blob-url for the bucket with the prefix.
func (s *Server) URL(prefix string) string {
	return "s3://" + Bucket + "/" + prefix + "?endpoint=" + s.Endpoint + "&insecure=true&region=us-east-1"
}

// Objects lists the names of the objects in the bucket under prefix.
func (s *Server) Objects(t testing.TB, prefix string) []string {
	t.Helper()
	list, err := s.Backend.ListBucket(Bucket, &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list.Contents {
		names = append(names, c.Key)
	}
	return names
}
