package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3-compatible bucket is and how to sign requests.
type S3Config struct {
	// Endpoint is host[:port] of the S3 service (s3.amazonaws.com, a MinIO
	// or Garage node…).
	Endpoint string
	// Insecure talks plain HTTP to the endpoint (a service on the same
	// machine or network); HTTPS otherwise.
	Insecure bool
	Region   string
	Bucket   string
	// Prefix is prepended, with a slash, to every key, so that several
	// stores (or other data) can share a bucket.
	Prefix string
	// AccessKey and SecretKey sign requests; both empty sends anonymous
	// requests (a bucket policy must then allow them).
	AccessKey, SecretKey string
}

// ParseS3URL reads s3://BUCKET[/PREFIX][?endpoint=HOST:PORT&region=R&insecure=true].
// Without endpoint, the bucket is on AWS (s3.amazonaws.com). Credentials are
// not part of the URL: they are secrets, configured apart.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return S3Config{}, fmt.Errorf("blob URL: %v", err)
	}
	if u.Scheme != "s3" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return S3Config{}, errors.New("blob URL: want s3://bucket[/prefix][?endpoint=host:port&region=…&insecure=true]")
	}
	c := S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: "s3.amazonaws.com"}
	q := u.Query()
	for name := range q {
		switch name {
		case "endpoint", "region", "insecure":
		default:
			return S3Config{}, fmt.Errorf("blob URL: unknown parameter %q (want endpoint, region, insecure)", name)
		}
	}
	if e := q.Get("endpoint"); e != "" {
		if strings.Contains(e, "/") {
			return S3Config{}, fmt.Errorf("blob URL: endpoint %q: want host[:port], without scheme or path", e)
		}
		c.Endpoint = e
	}
	c.Region = q.Get("region")
	if v := q.Get("insecure"); v != "" {
		if c.Insecure, err = strconv.ParseBool(v); err != nil {
			return S3Config{}, fmt.Errorf("blob URL: insecure=%q: want true or false", v)
		}
	}
	for _, part := range strings.Split(c.Prefix, "/") {
		if c.Prefix != "" && (part == "" || part == "." || part == "..") {
			return S3Config{}, fmt.Errorf("blob URL: bad prefix %q", c.Prefix)
		}
	}
	return c, nil
}

// S3 is a Store in an S3-compatible bucket, for several nodes sharing their
// uploads. Keys are the same as Dir's; an object is named PREFIX/KEY.
//
// An S3 PUT is atomic (the object appears whole or not at all) and durable
// when acknowledged, which is what Put promises. Content is streamed: a
// blob up to partSize goes in one PUT read straight from the caller's
// reader; a larger one is sent in parts, one part in memory at a time.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

// Compile-time check that *S3 is a Store.
var _ Store = (*S3)(nil)

// partSize is the largest blob sent in one PUT and the size of the parts of
// a larger one (each part is buffered while it is sent).
const partSize = 16 << 20

// NewS3 connects to the bucket and checks that it exists, so that a wrong
// name or endpoint fails at start, not at the first upload. transport may be
// nil (the default HTTP transport).
func NewS3(ctx context.Context, c S3Config, transport http.RoundTripper) (*S3, error) {
	if c.Bucket == "" || c.Endpoint == "" {
		return nil, errors.New("blob: S3 bucket and endpoint are required")
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return nil, errors.New("blob: S3 access key and secret key go together")
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:    !c.Insecure,
		Region:    c.Region,
		Transport: transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	ok, err := client.BucketExists(ctx, c.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %s at %s: %w", c.Bucket, c.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: S3 bucket %s does not exist at %s", c.Bucket, c.Endpoint)
	}
	s := &S3{client: client, bucket: c.Bucket}
	if c.Prefix != "" {
		s.prefix = c.Prefix + "/"
	}
	return s, nil
}

func (s *S3) object(key string) string { return s.prefix + key }

// Put uploads the blob. The PUT is conditional (If-None-Match: *) so that
// two nodes writing the same key cannot overwrite each other; the existence
// check before it only saves sending content that would be refused.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSizeMismatch, size)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if ok, err := s.Exists(ctx, key); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%w: %s", ErrExists, key)
	}
	body := &exactReader{r: ctxReader{ctx, r}, left: size}
	// The payload is sent unsigned (the headers still are), not signed
	// chunk by chunk (aws-chunked): over HTTPS the client would not sign it
	// anyway, TLS guarding the content; plain HTTP (insecure=true) is for a
	// trusted network. One encoding everywhere is one thing to test, and
	// some S3-compatible servers mishandle signed chunks in multipart parts.
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: partSize, DisableContentSha256: true}
	opts.SetMatchETagExcept("*")
	var err error
	if size > 0 {
		_, err = s.client.PutObject(ctx, s.bucket, s.object(key), body, size, opts)
	} else if body.checkEnd() == io.EOF {
		// An empty body is seen to be empty before the request, which then
		// carries none.
		_, err = s.client.PutObject(ctx, s.bucket, s.object(key), bytes.NewReader(nil), 0, opts)
	}
	// The reader's own verdict comes first: the client may report a broken
	// body in its own words.
	if body.err != nil {
		if errors.Is(body.err, ErrSizeMismatch) {
			return fmt.Errorf("%w: %s: %d bytes announced, %s read", ErrSizeMismatch, key, size, describeRead(body.n, size))
		}
		return fmt.Errorf("blob: put %s: %w", key, body.err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e := minio.ToErrorResponse(err); e.StatusCode == http.StatusPreconditionFailed || e.Code == "PreconditionFailed" {
			return fmt.Errorf("%w: %s", ErrExists, key)
		}
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	return nil
}

// Get opens the object. The first request is made here, so that a missing
// blob is ErrNotFound now rather than an error at the first Read.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		if notFound(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return obj, nil
}

// Delete removes the object; S3 deletes of missing objects succeed.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// Exists asks for the object's metadata.
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	if !ValidKey(key) {
		return false, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	_, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	switch {
	case err == nil:
		return true, nil
	case notFound(err):
		return false, nil
	}
	return false, fmt.Errorf("blob: stat %s: %w", key, err)
}

func notFound(err error) bool {
	e := minio.ToErrorResponse(err)
	return e.Code == "NoSuchKey" || (e.StatusCode == http.StatusNotFound && e.Code != "NoSuchBucket")
}

// exactReader gives exactly left bytes of r and fails otherwise. The
// client sends a Content-Length and stops reading there, so a longer
// stream would be cut silently: when the last announced byte is read, the
// reader looks one byte further, and if there is one it withholds the
// final chunk and fails, so the server never receives a complete body and
// stores nothing.
type exactReader struct {
	r    io.Reader
	left int64
	n    int64 // bytes read from r, for the error message
	err  error // sticky failure
	// checked is set once the reader was seen to end where announced.
	checked bool
}

// checkEnd reads one byte past the announced size: there must be none.
func (e *exactReader) checkEnd() error {
	var one [1]byte
	m, err := io.ReadFull(e.r, one[:])
	switch {
	case m > 0:
		e.n += int64(m)
		e.err = ErrSizeMismatch
	case err != nil && err != io.EOF:
		e.err = err
	default:
		e.checked = true
		return io.EOF
	}
	return e.err
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		// Only a zero-size blob gets here before the look ahead below.
		if !e.checked {
			return 0, e.checkEnd()
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.n += int64(n)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		if err := e.checkEnd(); err != io.EOF {
			return 0, err
		}
		return n, nil
	case err == io.EOF:
		e.err = ErrSizeMismatch
		return 0, e.err
	case err != nil:
		e.err = err
		return 0, err
	}
	return n, nil
}
