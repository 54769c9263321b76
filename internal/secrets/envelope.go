package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// The blob format is documented in doc.go.
const (
	magic       = "CSEC"
	version1    = 0x01
	dekSize     = 32 // AES-256
	nonceSize   = 12
	tagSize     = 16
	maxKeyIDLen = 255
	maxWrapLen  = 1<<16 - 1
)

// Seal encrypts plaintext for storage. It draws a fresh 256-bit data key,
// encrypts plaintext with it (AES-256-GCM, random nonce), has w wrap the
// data key under its current KEK, and returns one self-describing blob.
//
// aad names what the secret is, e.g. "tenant/acme/secret/db-password";
// Open must be given the same bytes, so a blob copied to another row,
// tenant or name does not open. It must not be empty, and the caller's
// encoding must be unambiguous (no two contexts with the same bytes).
// aad is authenticated, not encrypted, and not stored in the blob.
func Seal(ctx context.Context, w KeyWrapper, plaintext, aad []byte) ([]byte, error) {
	if len(aad) == 0 {
		return nil, errNoContext
	}
	dek := make([]byte, dekSize)
	defer clear(dek)
	rand.Read(dek) // never fails: crypto/rand crashes the program instead

	keyID, wrapped, err := w.Wrap(ctx, dek, aad)
	if err != nil {
		return nil, fmt.Errorf("secrets: sealing: wrapping the data key: %w", err)
	}
	if err := checkKeyID(keyID); err != nil {
		return nil, fmt.Errorf("secrets: sealing: the key wrapper returned %w", err)
	}
	if len(wrapped) == 0 || len(wrapped) > maxWrapLen {
		return nil, fmt.Errorf("secrets: sealing: the key wrapper returned a %d-byte wrapped key, want 1..%d", len(wrapped), maxWrapLen)
	}

	hlen := len(magic) + 1 + 1 + len(keyID) + 2 + len(wrapped)
	blob := make([]byte, 0, hlen+nonceSize+len(plaintext)+tagSize)
	blob = append(blob, magic...)
	blob = append(blob, version1, byte(len(keyID)))
	blob = append(blob, keyID...)
	blob = binary.BigEndian.AppendUint16(blob, uint16(len(wrapped)))
	blob = append(blob, wrapped...)

	aead, err := dataAEAD(dek)
	if err != nil {
		return nil, err
	}
	// With NewGCMWithRandomNonce, Seal writes nonce || ciphertext || tag.
	return aead.Seal(blob, nil, plaintext, dataAAD(blob[:hlen], aad)), nil
}

// Open decrypts a blob written by Seal, given the aad it was sealed with.
// It fails with ErrMalformed, ErrUnknownKey or ErrDecrypt (errors.Is);
// the plaintext is returned only when every byte of the blob is authentic.
func Open(ctx context.Context, w KeyWrapper, blob, aad []byte) ([]byte, error) {
	if len(aad) == 0 {
		return nil, errNoContext
	}
	h, err := parseHeader(blob)
	if err != nil {
		return nil, err
	}
	dek, err := w.Unwrap(ctx, h.keyID, h.wrapped, aad)
	defer clear(dek)
	if err != nil {
		return nil, fmt.Errorf("secrets: opening a secret sealed with key %q: %w", h.keyID, err)
	}
	if len(dek) != dekSize {
		return nil, fmt.Errorf("secrets: opening a secret sealed with key %q: the key wrapper returned a %d-byte data key, want %d", h.keyID, len(dek), dekSize)
	}
	aead, err := dataAEAD(dek)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, nil, blob[h.len:], dataAAD(blob[:h.len], aad))
	if err != nil {
		return nil, fmt.Errorf("secrets: opening a secret sealed with key %q: %w: the ciphertext does not authenticate; the blob was altered or belongs to another context (aad)", h.keyID, ErrDecrypt)
	}
	return plaintext, nil
}

// Rewrap opens blob and seals its plaintext again under w's current key,
// with a fresh data key. To retire a KEK: add a new one, Rewrap every blob
// whose BlobKeyID is the old id, then remove the old key.
func Rewrap(ctx context.Context, w KeyWrapper, blob, aad []byte) ([]byte, error) {
	plaintext, err := Open(ctx, w, blob, aad)
	defer clear(plaintext)
	if err != nil {
		return nil, err
	}
	return Seal(ctx, w, plaintext, aad)
}

// BlobKeyID returns the id of the KEK that wrapped blob's data key,
// without decrypting anything. The id is not authenticated until Open.
func BlobKeyID(blob []byte) (string, error) {
	h, err := parseHeader(blob)
	if err != nil {
		return "", err
	}
	return h.keyID, nil
}

var errNoContext = errors.New("secrets: empty aad: pass the secret's context, e.g. \"tenant/<t>/secret/<name>\", so that a blob cannot be moved to another one")

type header struct {
	keyID   string
	wrapped []byte
	len     int // bytes before the nonce
}

func parseHeader(blob []byte) (header, error) {
	bad := func(format string, args ...any) (header, error) {
		return header{}, fmt.Errorf("secrets: %w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if len(blob) < len(magic)+2 || string(blob[:len(magic)]) != magic {
		return bad("not a Carnot secret blob (no %q header)", magic)
	}
	if v := blob[len(magic)]; v != version1 {
		return bad("blob version %d, this build reads version %d", v, version1)
	}
	p := len(magic) + 1
	n := int(blob[p])
	p++
	if n == 0 || len(blob) < p+n+2 {
		return bad("truncated key id")
	}
	keyID := string(blob[p : p+n])
	if err := checkKeyID(keyID); err != nil {
		return bad("%v", err)
	}
	p += n
	m := int(binary.BigEndian.Uint16(blob[p:]))
	p += 2
	if m == 0 || len(blob) < p+m {
		return bad("truncated wrapped key")
	}
	wrapped := blob[p : p+m : p+m]
	p += m
	if len(blob) < p+nonceSize+tagSize {
		return bad("truncated ciphertext: %d bytes after the header, want at least %d", len(blob)-p, nonceSize+tagSize)
	}
	return header{keyID: keyID, wrapped: wrapped, len: p}, nil
}

// checkKeyID accepts what the blob format can carry: 1..255 bytes of
// printable ASCII without spaces.
func checkKeyID(id string) error {
	if len(id) == 0 || len(id) > maxKeyIDLen {
		return fmt.Errorf("a key id of %d bytes, want 1..%d", len(id), maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("a key id with byte %#x at %d, want printable ASCII without spaces", id[i], i)
		}
	}
	return nil
}

func dataAEAD(dek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, fmt.Errorf("secrets: data key: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

func dataAAD(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	return append(append(out, header...), aad...)
}
