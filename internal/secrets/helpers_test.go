package secrets

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// testKey derives a fixed, non-zero 32-byte key from a name, so that
// tests and fuzz workers agree on key material.
func testKey(name string) []byte {
	sum := sha256.Sum256([]byte("carnot secrets test key " + name))
	return sum[:]
}

// keyLine is one key file line for id with key material from seed.
func keyLine(id, seed string) string {
	return id + " " + base64.StdEncoding.EncodeToString(testKey(seed)) + "\n"
}

// keyFile builds a KeyFile from ids, oldest first; each id's key material
// is derived from the id itself.
func keyFile(t testing.TB, ids ...string) *KeyFile {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(keyLine(id, id))
	}
	kf, err := ParseKeyFile("test.keys", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return kf
}

func aad(tenant, name string) []byte {
	return []byte("tenant/" + tenant + "/secret/" + name)
}
