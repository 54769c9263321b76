package secrets

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzOpen: no blob makes Open or BlobKeyID panic, and none but a sealed
// one opens.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	kf := keyFile(f, "kek-1", "kek-2")
	a := []byte("tenant/acme/secret/x")
	want := []byte("fuzz secret")
	blob, err := Seal(ctx, kf, want, a)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Add(blob[:len(blob)-1])
	f.Add(blob[:20])
	f.Add([]byte("CSEC\x01"))
	f.Add([]byte("CSEC\x01\x05kek-1\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		BlobKeyID(data)
		got, err := Open(ctx, kf, data, a)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open failed with an unclassified error: %v", err)
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("a blob not sealed by this test opened: %q", got)
		}
	})
}

// FuzzParseKeyFile: no content makes the parser panic; a failure is a
// *KeyFileError naming the file; a success yields a usable key file.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(keyLine("kek-1", "a") + "# comment\n" + keyLine("kek-2", "b")))
	f.Add([]byte("# only a comment\n"))
	f.Add([]byte("k1 AAAA\n"))
	f.Add([]byte("k1 " + strings.Repeat("A", 43) + "=\r\n"))
	f.Add([]byte("a\tb\tc\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := ParseKeyFile("fuzz.keys", data)
		if err != nil {
			var kfe *KeyFileError
			if !errors.As(err, &kfe) || !errors.Is(err, ErrKeyFile) || !strings.HasPrefix(err.Error(), "secrets: key file fuzz.keys") {
				t.Fatalf("error is not a KeyFileError naming the file: %v", err)
			}
			return
		}
		ids := kf.KeyIDs()
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] || !validFileKeyID([]byte(id)) {
				t.Fatalf("parsed key ids %q: duplicate or invalid", ids)
			}
			seen[id] = true
		}
		ctx := context.Background()
		blob, err := Seal(ctx, kf, []byte("s"), []byte("c"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Open(ctx, kf, blob, []byte("c")); err != nil || string(got) != "s" {
			t.Fatalf("round trip through a parsed key file: %q, %v", got, err)
		}
	})
}
