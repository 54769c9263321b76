// Package secrets encrypts what the control plane stores in secret —
// tenant secrets, credentials for configured endpoints — with envelope
// encryption, using only the standard library's AES-256-GCM.
//
// # The envelope
//
//	kf, err := secrets.LoadKeyFile("/etc/carnot/secrets.keys") // or any KeyWrapper: a KMS
//	aad := []byte("tenant/acme/secret/db-password")
//	blob, err := secrets.Seal(ctx, kf, plaintext, aad) // store blob
//	plaintext, err = secrets.Open(ctx, kf, blob, aad)
//
// Seal draws a fresh random 256-bit data key (DEK) for each secret,
// encrypts the secret with it (AES-256-GCM, random nonce), has the
// KeyWrapper encrypt the DEK under a key-encryption key (KEK), zeroes the
// DEK, and writes one versioned blob. Every byte of it is authenticated.
// Version 1 (lengths in bytes, integers big-endian):
//
//	magic    4  "CSEC"
//	version  1  0x01
//	idLen    1  n, 1..255
//	keyID    n  printable ASCII, no spaces: the KEK that wrapped the DEK
//	wrapLen  2  m, 1..65535
//	wrapped  m  the DEK as the KeyWrapper wrapped it (opaque; 60 for a KeyFile)
//	nonce   12  random
//	body     *  AES-256-GCM ciphertext of the secret, then its 16-byte tag
//
// The DEK encrypts the body with additional data header || aad, where
// header is every byte before the nonce. A KeyFile wraps the DEK with
// AES-256-GCM too, as nonce(12) || ciphertext(32) || tag(16), with
// additional data "carnot/secrets/kek/v1", NUL, key id, NUL, aad.
//
// The aad is the secret's context. It is authenticated with both the DEK
// and the ciphertext but not stored, so a blob copied to another tenant,
// another name or another row does not open. Callers build it from
// validated parts so that no two contexts have the same bytes.
//
// # What this protects, and what it does not
//
// Protected: the database file at rest, its dumps and backups, replicas
// and logs of SQL statements. Without a KEK they hold only ciphertext;
// with a stolen dump and the wrong aad, nothing opens either.
//
// Not protected: a compromised running server, or anyone who can read the
// server's memory or its key file. The server holds the KEK (or the right
// to call the KMS) to do its work, so such an attacker can open every
// secret. A KMS narrows this to the time of the compromise and leaves a
// record of every unwrap; it does not prevent it. Keep the key file out
// of the database's backups: a backup holding both protects nothing.
// Losing every copy of a KEK loses every secret sealed under it.
// Zeroing DEKs and key file buffers is best effort: Go does not clear the
// AES key schedule or copies the runtime makes, and a KeyFile keeps its
// KEKs in memory for its lifetime.
//
// Every primitive is a FIPS 140-3 approved one (AES-256-GCM with nonces
// drawn inside the module, crypto/rand); the tests pass under
// GODEBUG=fips140=only.
//
// # Keys, files and rotation
//
// KeyFile reads KEKs from a text file, one "<id> <base64 key>" per line,
// newest last, '#' for comments, mode 0600 (see KeyFile for the exact
// format). GenerateKeyFile creates one; RotateKeyFile appends a new key.
// The newest key wraps new DEKs and every key in the file unwraps, so a
// rotation never breaks existing blobs. To retire a key: rotate, reload
// the file on every server, Rewrap every blob whose BlobKeyID names the
// old key, then delete that key's line.
//
// # Plugging in a KMS
//
// Implement KeyWrapper, two methods: Wrap sends the 32-byte DEK to the
// service's encrypt operation and returns the id of the key it used with
// the ciphertext; Unwrap sends them back to decrypt. Pass the aad as the
// service's associated data (Vault transit "associated_data", a KMS
// "encryption context", PKCS#11 GCM AAD) so the service enforces it too.
// Return errors wrapping ErrUnknownKey and ErrDecrypt where the service
// tells them apart. Service-side key versions can live in the id
// ("transit/carnot:v3") or inside the wrapped bytes, as the service
// prefers. The blob format does not change: moving from a key file to a
// KMS is Open with the KeyFile and Seal with the KMS, blob by blob, and
// BlobKeyID tells which wrapper sealed a blob.
package secrets
