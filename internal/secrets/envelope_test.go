package secrets

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1")
	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 64<<10)
	for _, pt := range [][]byte{nil, {}, []byte("x"), []byte("hunter2"), big} {
		t.Run(fmt.Sprintf("%d bytes", len(pt)), func(t *testing.T) {
			a := aad("acme", "db-password")
			blob, err := Seal(ctx, kf, pt, a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Open(ctx, kf, blob, a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("Open returned %d bytes, want the %d sealed", len(got), len(pt))
			}
			if id, err := BlobKeyID(blob); err != nil || id != "kek-1" {
				t.Fatalf("BlobKeyID = %q, %v; want kek-1", id, err)
			}
			again, err := Seal(ctx, kf, pt, a)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again, blob) {
				t.Fatal("sealing the same secret twice gave the same blob; data key or nonce is not fresh")
			}
		})
	}
}

func TestEmptyAADRefused(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1")
	if _, err := Seal(ctx, kf, []byte("s"), nil); err == nil || !strings.Contains(err.Error(), "aad") {
		t.Fatalf("Seal with empty aad: err = %v, want a refusal naming aad", err)
	}
	blob, err := Seal(ctx, kf, []byte("s"), aad("acme", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, kf, blob, []byte{}); err == nil {
		t.Fatal("Open with empty aad succeeded")
	}
}

// region names the part of a version-1 blob that byte i belongs to.
type region struct {
	name       string
	start, end int
	want       []error // any of these
}

func regions(blob []byte) []region {
	n := int(blob[5])
	idEnd := 6 + n
	m := int(binary.BigEndian.Uint16(blob[idEnd:]))
	wrapEnd := idEnd + 2 + m
	nonceEnd := wrapEnd + nonceSize
	all := []error{ErrMalformed, ErrUnknownKey, ErrDecrypt}
	return []region{
		{"magic", 0, 4, []error{ErrMalformed}},
		{"version", 4, 5, []error{ErrMalformed}},
		{"key id length", 5, 6, all},
		{"key id", 6, idEnd, []error{ErrMalformed, ErrUnknownKey}},
		{"wrapped key length", idEnd, idEnd + 2, all},
		{"wrapped key", idEnd + 2, wrapEnd, []error{ErrDecrypt}},
		{"nonce", wrapEnd, nonceEnd, []error{ErrDecrypt}},
		{"ciphertext", nonceEnd, len(blob) - tagSize, []error{ErrDecrypt}},
		{"tag", len(blob) - tagSize, len(blob), []error{ErrDecrypt}},
	}
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func TestTamperEveryByte(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1")
	a := aad("acme", "db-password")
	pt := []byte("correct horse battery staple")
	blob, err := Seal(ctx, kf, pt, a)
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, r := range regions(blob) {
		if r.end <= r.start {
			t.Fatalf("region %s is empty", r.name)
		}
		covered += r.end - r.start
		for i := r.start; i < r.end; i++ {
			for _, flip := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(blob)
				bad[i] ^= flip
				got, err := Open(ctx, kf, bad, a)
				if err == nil {
					t.Fatalf("%s: byte %d ^ %#x: Open succeeded (%q)", r.name, i, flip, got)
				}
				if !isAny(err, r.want) {
					t.Errorf("%s: byte %d ^ %#x: err = %v, want one of %v", r.name, i, flip, err, r.want)
				}
			}
		}
	}
	if covered != len(blob) {
		t.Fatalf("regions cover %d of %d bytes", covered, len(blob))
	}
	for n := 0; n < len(blob); n++ {
		if _, err := Open(ctx, kf, blob[:n], a); err == nil {
			t.Fatalf("blob truncated to %d bytes opened", n)
		}
	}
	if _, err := Open(ctx, kf, append(bytes.Clone(blob), 0), a); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("blob with a byte appended: err = %v, want ErrDecrypt", err)
	}
}

// TestSwapKeyID points a blob at another key the wrapper holds.
func TestSwapKeyID(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1", "kek-2")
	a := aad("acme", "x")
	blob, err := Seal(ctx, kf, []byte("s"), a)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(blob, []byte("kek-2"), []byte("kek-1"), 1)
	if _, err := Open(ctx, kf, bad, a); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("blob relabelled to another held key: err = %v, want ErrDecrypt", err)
	}
}

func TestWrongAAD(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1")
	blob, err := Seal(ctx, kf, []byte("s3cret"), aad("acme", "db-password"))
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range [][]byte{
		aad("globex", "db-password"), // moved to another tenant
		aad("acme", "api-token"),     // moved to another name
		aad("acme", "db-passwor"),
		aad("acme", "db-password/"),
		[]byte("x"),
	} {
		if _, err := Open(ctx, kf, blob, wrong); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open with aad %q: err = %v, want ErrDecrypt", wrong, err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	ctx := context.Background()
	a := aad("acme", "x")
	blob, err := Seal(ctx, keyFile(t, "kek-1"), []byte("s"), a)
	if err != nil {
		t.Fatal(err)
	}

	// Same id, other key material: the key file was replaced.
	other, err := ParseKeyFile("other.keys", []byte(keyLine("kek-1", "something else")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, other, blob, a)
	if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), `"kek-1"`) || !strings.Contains(err.Error(), "other.keys") {
		t.Errorf("other key under the same id: err = %v, want ErrDecrypt naming the key and the file", err)
	}

	// Unknown id: the key was removed.
	_, err = Open(ctx, keyFile(t, "kek-2", "kek-3"), blob, a)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: err = %v, want ErrUnknownKey", err)
	}
	for _, want := range []string{`"kek-1"`, "kek-2, kek-3", "test.keys"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("unknown key error %q does not mention %s", err, want)
		}
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	a := aad("acme", "x")
	old := keyFile(t, "kek-1")
	oldBlob, err := Seal(ctx, old, []byte("old secret"), a)
	if err != nil {
		t.Fatal(err)
	}

	rotated := keyFile(t, "kek-1", "kek-2")
	if got, err := Open(ctx, rotated, oldBlob, a); err != nil || string(got) != "old secret" {
		t.Fatalf("old blob after rotation: %q, %v", got, err)
	}
	newBlob, err := Seal(ctx, rotated, []byte("new secret"), a)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := BlobKeyID(newBlob); id != "kek-2" {
		t.Fatalf("new blob sealed with %q, want the newest key kek-2", id)
	}
	if _, err := Open(ctx, old, newBlob, a); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("server with the old key file opening a new blob: err = %v, want ErrUnknownKey", err)
	}

	// Retire kek-1: rewrap, then drop it.
	rewrapped, err := Rewrap(ctx, rotated, oldBlob, a)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := BlobKeyID(rewrapped); id != "kek-2" {
		t.Fatalf("rewrapped blob uses %q, want kek-2", id)
	}
	retired := keyFile(t, "kek-2")
	if got, err := Open(ctx, retired, rewrapped, a); err != nil || string(got) != "old secret" {
		t.Fatalf("rewrapped blob after retiring kek-1: %q, %v", got, err)
	}
	if _, err := Rewrap(ctx, rotated, oldBlob, aad("globex", "x")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Rewrap with the wrong aad: err = %v, want ErrDecrypt", err)
	}
}

func TestPlaintextNotInBlob(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1")
	pt := []byte("postgres://carnot:Sup3r-S3cret-Passw0rd@db.internal:5432/carnot?sslmode=verify-full")
	a := aad("acme", "database-url")
	blob, err := Seal(ctx, kf, pt, a)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+8 <= len(pt); i++ {
		if bytes.Contains(blob, pt[i:i+8]) {
			t.Fatalf("blob contains plaintext bytes %q", pt[i:i+8])
		}
	}
	if bytes.Contains(blob, testKey("kek-1")) {
		t.Fatal("blob contains the KEK")
	}
	if bytes.Contains(blob, a) {
		t.Fatal("blob contains the aad; it is meant to be supplied, not stored")
	}
}

// spyWrapper records the data keys it sees so tests can check Seal and
// Open zero them, and can misbehave on demand.
type spyWrapper struct {
	inner   KeyWrapper
	keyID   string // overrides the id Wrap returns
	wrapped []byte // overrides the wrapped key Wrap returns
	short   bool   // Unwrap returns a 16-byte key
	seen    [][]byte
}

func (s *spyWrapper) Wrap(ctx context.Context, dek, aad []byte) (string, []byte, error) {
	s.seen = append(s.seen, dek)
	id, w, err := s.inner.Wrap(ctx, dek, aad)
	if s.keyID != "" {
		id = s.keyID
	}
	if s.wrapped != nil {
		w = s.wrapped
	}
	return id, w, err
}

func (s *spyWrapper) Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) ([]byte, error) {
	dek, err := s.inner.Unwrap(ctx, keyID, wrapped, aad)
	if s.short && err == nil {
		dek = dek[:16]
	}
	s.seen = append(s.seen, dek)
	return dek, err
}

func TestDataKeyZeroed(t *testing.T) {
	ctx := context.Background()
	spy := &spyWrapper{inner: keyFile(t, "kek-1")}
	a := aad("acme", "x")
	blob, err := Seal(ctx, spy, []byte("s"), a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, spy, blob, a); err != nil {
		t.Fatal(err)
	}
	if len(spy.seen) != 2 {
		t.Fatalf("wrapper saw %d data keys, want 2", len(spy.seen))
	}
	for i, dek := range spy.seen {
		if !bytes.Equal(dek, make([]byte, dekSize)) {
			t.Errorf("data key %d not zeroed after use", i)
		}
	}
}

func TestMisbehavingWrapper(t *testing.T) {
	ctx := context.Background()
	a := aad("acme", "x")
	kf := keyFile(t, "kek-1")
	for _, tt := range []struct {
		name string
		spy  *spyWrapper
	}{
		{"id with space", &spyWrapper{inner: kf, keyID: "kek 1"}},
		{"id too long", &spyWrapper{inner: kf, keyID: strings.Repeat("k", 256)}},
		{"empty wrapped key", &spyWrapper{inner: kf, wrapped: []byte{}}},
		{"huge wrapped key", &spyWrapper{inner: kf, wrapped: make([]byte, 1<<16)}},
	} {
		if _, err := Seal(ctx, tt.spy, []byte("s"), a); err == nil {
			t.Errorf("%s: Seal succeeded", tt.name)
		}
	}
	blob, err := Seal(ctx, kf, []byte("s"), a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, &spyWrapper{inner: kf, short: true}, blob, a); err == nil || !strings.Contains(err.Error(), "16-byte data key") {
		t.Errorf("wrapper returning a short data key: err = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cancelled, kf, blob, a); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestUnsupportedVersion(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1")
	blob, err := Seal(ctx, kf, []byte("s"), aad("acme", "x"))
	if err != nil {
		t.Fatal(err)
	}
	blob[4] = 2
	_, err = Open(ctx, kf, blob, aad("acme", "x"))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("err = %v, want ErrMalformed naming version 2", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	kf := keyFile(t, "kek-1", "kek-2")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				a := aad(fmt.Sprint("t", g), fmt.Sprint("s", i))
				pt := []byte(fmt.Sprint("secret ", g, i))
				blob, err := Seal(ctx, kf, pt, a)
				if err == nil {
					var got []byte
					got, err = Open(ctx, kf, blob, a)
					if err == nil && !bytes.Equal(got, pt) {
						err = fmt.Errorf("got %q, want %q", got, pt)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestBlobKeyIDMalformed(t *testing.T) {
	for _, blob := range [][]byte{nil, []byte("CSEC"), []byte("XXXX\x01\x01k"), []byte("CSEC\x01\x00")} {
		if _, err := BlobKeyID(blob); !errors.Is(err, ErrMalformed) {
			t.Errorf("BlobKeyID(%q): err = %v, want ErrMalformed", blob, err)
		}
	}
	var got []string
	for _, ids := range [][]string{{"a"}, {"a", "b.c_d-e"}} {
		blob, err := Seal(context.Background(), keyFile(t, ids...), nil, []byte("ctx"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := BlobKeyID(blob)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if diff := cmp.Diff([]string{"a", "b.c_d-e"}, got); diff != "" {
		t.Errorf("BlobKeyID (-want +got):\n%s", diff)
	}
}
