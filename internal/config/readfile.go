package config

import (
	"fmt"
	"io"
	"os"
)

// ReadFile reads a file an operator named (a secret, a password, a policy,
// a claim's facts), refusing one larger than limit bytes. It stops reading
// at limit: os.ReadFile on /dev/zero, a log or a stream that never ends
// kept growing its buffer until the kernel killed the process, however
// small the file was meant to be. A pipe or a FIFO (a shell's <(…)) is
// read like a file.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %s", path, sizeText(limit))
	}
	return data, nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// MaxSecretFile bounds a COMPTOIR_<NAME>_FILE: a key, a password or a URL.
const MaxSecretFile = 64 << 10
