package benchdata

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"
)

// idAlphabet and the layout below are those of internal/id: 48 bits of
// milliseconds then 80 random bits in Crockford base32, so that generated ids
// sort by the time they claim, as real ones do (pagination relies on it).
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen makes ids for a given moment from a seeded generator: fast, and the
// same dataset every time for one seed.
type idGen struct{ r *rand.Rand }

func newIDGen(seed uint64) *idGen {
	return &idGen{r: rand.New(rand.NewPCG(seed, 0x636f6d70746f6972))}
}

func (g *idGen) at(prefix string, t time.Time) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(t.UnixMilli())<<16)
	binary.BigEndian.PutUint64(raw[8:], g.r.Uint64())
	binary.BigEndian.PutUint16(raw[6:8], uint16(g.r.Uint32()))
	b := make([]byte, 0, len(prefix)+27)
	b = append(b, prefix...)
	b = append(b, '_')
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift > 59:
			v = hi<<(64-shift) | lo>>shift
		default:
			v = lo >> shift
		}
		b = append(b, idAlphabet[v&31])
	}
	return string(b)
}

// secret derives a 256-bit secret, base64url as account's newSecret makes
// them, from the seed and a label: the harness knows the plain token, the
// database holds its SHA-256 like every real one.
func secret(seed uint64, label string, i int) string {
	sum := sha256.Sum256([]byte("comptoir-bench/" + strconv.FormatUint(seed, 10) + "/" + label + "/" + strconv.Itoa(i)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// hashSecret is account's hashSecret: how sessions and API tokens are
// stored and looked up.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
