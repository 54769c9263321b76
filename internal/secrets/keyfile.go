package secrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const (
	kekSize        = 32
	maxFileKeyID   = 64
	maxKeyFileSize = 1 << 20
	kekAADPrefix   = "carnot/secrets/kek/v1\x00"
)

// KeyFile is a KeyWrapper whose KEKs are read from a local key file. It
// wraps data keys with AES-256-GCM under its newest key, binding the key
// id and the aad. It is immutable and safe for concurrent use; to pick up
// a rotated file, load it again.
//
// The file is UTF-8 text, one KEK per line as
//
//	<id> <base64 of 32 random bytes>
//
// separated by spaces or tabs. The id is 1..64 letters, digits, '.', '_'
// or '-'; the key is standard base64 with padding (what
// `openssl rand -base64 32` prints). Blank lines and lines whose first
// non-blank character is '#' are ignored. The last key is the newest: it
// wraps every new data key; every key listed unwraps. Ids and keys are
// unique. The file must be a regular file that group and others cannot
// access (chmod 600), at most 1 MiB.
type KeyFile struct {
	path string
	keys []*fileKey // file order; the last is the newest
	byID map[string]*fileKey
}

type fileKey struct {
	id   string
	line int
	key  [kekSize]byte
}

var _ KeyWrapper = (*KeyFile)(nil)

// LoadKeyFile reads and checks the key file at path. It refuses a file
// that is not regular or whose mode lets group or others in
// (ErrKeyFileMode), and a malformed one (ErrKeyFile); both as a
// *KeyFileError naming the file and, for format errors, the line.
func LoadKeyFile(path string) (*KeyFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: opening key file: %w", err)
	}
	defer f.Close()
	data, err := readKeyFile(f, path)
	defer clear(data)
	if err != nil {
		return nil, err
	}
	return ParseKeyFile(path, data)
}

// ParseKeyFile parses key file content; name is used in errors. It does
// not check permissions: LoadKeyFile does.
func ParseKeyFile(name string, data []byte) (*KeyFile, error) {
	kf := &KeyFile{path: name, byID: map[string]*fileKey{}}
	// Work on bytes, not strings, so that LoadKeyFile can zero the
	// file's content afterwards; strings cannot be cleared.
	for i, line := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		bad := func(format string, args ...any) (*KeyFile, error) {
			return nil, &KeyFileError{Path: name, Line: lineNo, Reason: fmt.Sprintf(format, args...), Err: ErrKeyFile}
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		fields := bytes.Fields(line)
		if len(fields) != 2 {
			return bad(`want "<id> <base64 key>", found %d fields`, len(fields))
		}
		if !validFileKeyID(fields[0]) {
			return bad("key id is not 1..%d letters, digits, '.', '_' or '-'", maxFileKeyID)
		}
		id := string(fields[0])
		if prev, ok := kf.byID[id]; ok {
			return bad("key id %q is already used on line %d", id, prev.line)
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(fields[1])))
		n, err := base64.StdEncoding.Decode(raw, fields[1])
		raw = raw[:n]
		if err != nil {
			clear(raw)
			return bad("key %q is not standard base64 with padding", id)
		}
		if len(raw) != kekSize {
			clear(raw)
			return bad("key %q is %d bytes, want %d (AES-256): generate one with `openssl rand -base64 32`", id, len(raw), kekSize)
		}
		k := &fileKey{id: id, line: lineNo}
		copy(k.key[:], raw)
		clear(raw)
		if k.key == ([kekSize]byte{}) {
			return bad("key %q is all zero bytes", id)
		}
		for _, other := range kf.keys {
			if other.key == k.key {
				return bad("key %q is the same key as %q on line %d", id, other.id, other.line)
			}
		}
		kf.keys = append(kf.keys, k)
		kf.byID[id] = k
	}
	if len(kf.keys) == 0 {
		return nil, &KeyFileError{Path: name, Reason: `no keys: add a line "<id> <base64 of 32 random bytes>"`, Err: ErrKeyFile}
	}
	return kf, nil
}

// KeyID returns the id of the newest key, the one Wrap uses ("" for a
// KeyFile not made by LoadKeyFile or ParseKeyFile).
func (k *KeyFile) KeyID() string {
	if len(k.keys) == 0 {
		return ""
	}
	return k.keys[len(k.keys)-1].id
}

// KeyIDs returns every key id, oldest first.
func (k *KeyFile) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// Wrap encrypts dek with the newest key (AES-256-GCM, random nonce).
// The result is nonce(12) || ciphertext || tag(16), 60 bytes for a
// 32-byte data key. One key may wrap up to 2^32 data keys; rotate well
// before that.
func (k *KeyFile) Wrap(ctx context.Context, dek, aad []byte) (string, []byte, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	if len(k.keys) == 0 {
		return "", nil, fmt.Errorf("key file %s holds no keys", k.path)
	}
	cur := k.keys[len(k.keys)-1]
	aead, err := kekAEAD(cur)
	if err != nil {
		return "", nil, err
	}
	return cur.id, aead.Seal(nil, nil, dek, kekAAD(cur.id, aad)), nil
}

// Unwrap decrypts a data key wrapped by Wrap under the key keyID.
func (k *KeyFile) Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, ok := k.byID[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q: key file %s holds only %s; restore the key that sealed this secret", ErrUnknownKey, keyID, k.path, strings.Join(k.KeyIDs(), ", "))
	}
	aead, err := kekAEAD(key)
	if err != nil {
		return nil, err
	}
	dek, err := aead.Open(nil, nil, wrapped, kekAAD(keyID, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: the data key does not authenticate under key %q of %s: that key is not the one that sealed the secret, or the blob or its context (aad) was altered", ErrDecrypt, keyID, k.path)
	}
	return dek, nil
}

// String describes the key file without key material, as do Format and
// LogValue. They have value receivers so that printing a KeyFile or a
// pointer to one, with any verb, never reaches the keys.
func (k KeyFile) String() string {
	if len(k.keys) == 0 {
		return "secrets.KeyFile(empty)"
	}
	return fmt.Sprintf("secrets.KeyFile(%s: %d keys, newest %s)", k.path, len(k.keys), k.keys[len(k.keys)-1].id)
}

// Format prints String for every verb, including %#v, %x and %d.
func (k KeyFile) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs String.
func (k KeyFile) LogValue() slog.Value { return slog.StringValue(k.String()) }

// GenerateKeyFile creates a key file at path holding one new random key,
// with mode 0600, and returns the key's id. It refuses to overwrite an
// existing file (fs.ErrExist).
func GenerateKeyFile(path string) (keyID string, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("secrets: key file %s already exists; refusing to overwrite it (RotateKeyFile adds a key): %w", path, err)
		}
		return "", fmt.Errorf("secrets: creating key file: %w", err)
	}
	now := time.Now().UTC()
	id, line := newKeyLine(now, nil)
	defer clear(line)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Carnot key-encryption keys (KEKs) for secrets at rest; see package internal/secrets.\n")
	fmt.Fprintf(&buf, "# One key per line: <id> <base64 of 32 random bytes>. The last key seals new\n")
	fmt.Fprintf(&buf, "# secrets; every key listed opens what it sealed. Keep this file mode 0600, back it\n")
	fmt.Fprintf(&buf, "# up apart from the database, and never remove a key that still seals a secret.\n")
	fmt.Fprintf(&buf, "# created %s\n", now.Format(time.RFC3339))
	buf.Write(line)
	defer clear(buf.Bytes())
	werr := writeAndSync(f, buf.Bytes())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return "", fmt.Errorf("secrets: writing key file %s: %w", path, werr)
	}
	syncDir(filepath.Dir(path))
	return id, nil
}

// RotateKeyFile appends a new random key to the key file at path, which
// makes it the newest, and returns its id. The file is checked as
// LoadKeyFile does and appended to in place, keeping its owner and mode.
// Servers pick the key up when they load the file again; in a
// multi-server deployment, update every server's file before any of them
// seals with the new key, or those still on the old file will fail to
// open the new blobs with ErrUnknownKey until they reload.
func RotateKeyFile(path string) (keyID string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return "", fmt.Errorf("secrets: opening key file: %w", err)
	}
	defer f.Close()
	data, err := readKeyFile(f, path)
	defer clear(data)
	if err != nil {
		return "", err
	}
	kf, err := ParseKeyFile(path, data)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	id, line := newKeyLine(now, kf.byID)
	defer clear(line)
	var buf bytes.Buffer
	if len(data) > 0 && data[len(data)-1] != '\n' {
		buf.WriteByte('\n')
	}
	fmt.Fprintf(&buf, "# added %s\n", now.Format(time.RFC3339))
	buf.Write(line)
	defer clear(buf.Bytes())
	werr := writeAndSync(f, buf.Bytes())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("secrets: appending to key file %s (check its last line): %w", path, werr)
	}
	return id, nil
}

func readKeyFile(f *os.File, path string) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &KeyFileError{Path: path, Reason: fmt.Sprintf("not a regular file (%s)", fi.Mode().Type()), Err: ErrKeyFileMode}
	}
	// Windows has no Unix modes to check; protect the file with an ACL there.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, &KeyFileError{Path: path, Reason: fmt.Sprintf("mode %04o lets group or others access the keys; run: chmod 600 %s", perm, path), Err: ErrKeyFileMode}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return data, fmt.Errorf("secrets: reading key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return data, &KeyFileError{Path: path, Reason: fmt.Sprintf("larger than %d bytes", maxKeyFileSize), Err: ErrKeyFile}
	}
	return data, nil
}

// newKeyLine draws a key and an id not in taken, and returns the id and
// the key file line "<id> <base64>\n".
func newKeyLine(now time.Time, taken map[string]*fileKey) (string, []byte) {
	var id string
	for {
		var suffix [4]byte
		rand.Read(suffix[:])
		id = "kek-" + now.Format("20060102") + "-" + hex.EncodeToString(suffix[:])
		if _, dup := taken[id]; !dup {
			break
		}
	}
	var key [kekSize]byte
	rand.Read(key[:])
	line := make([]byte, 0, len(id)+1+base64.StdEncoding.EncodedLen(kekSize)+1)
	line = append(line, id...)
	line = append(line, ' ')
	line = base64.StdEncoding.AppendEncode(line, key[:])
	line = append(line, '\n')
	clear(key[:])
	return id, line
}

func writeAndSync(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir makes a new file's directory entry durable; best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func validFileKeyID(id []byte) bool {
	if len(id) == 0 || len(id) > maxFileKeyID {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func kekAEAD(k *fileKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.key[:])
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", k.id, err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// kekAAD binds a wrapped data key to this scheme, the key id and the
// caller's aad. The id holds no NUL, so the encoding is unambiguous.
func kekAAD(keyID string, aad []byte) []byte {
	out := make([]byte, 0, len(kekAADPrefix)+len(keyID)+1+len(aad))
	out = append(out, kekAADPrefix...)
	out = append(out, keyID...)
	out = append(out, 0)
	return append(out, aad...)
}
