package secrets

import "context"

// KeyWrapper holds the key-encryption keys (KEKs) and is the plug point
// for a KMS: KeyFile implements it from a local file; a cloud KMS, an HSM
// (PKCS#11) or Vault's transit engine can implement it by sending the data
// key to the service's encrypt and decrypt operations. A KeyWrapper never
// sees a secret, only 32-byte data keys.
//
// Rotation: a KeyWrapper may hold several KEKs, each named by an id. Wrap
// always uses the newest and returns its id; Unwrap uses the key the id
// names, so blobs sealed under any key the wrapper still holds keep
// opening. Implementations must be safe for concurrent use.
type KeyWrapper interface {
	// Wrap encrypts dek under the current KEK, bound to aad, and returns
	// the id of the KEK it used with the wrapped key. The id is stored in
	// clear in the blob: 1 to 255 bytes of printable ASCII without spaces
	// (a KMS key ARN, "transit/carnot:v3", "kek-20261129-1a2b3c4d").
	// wrapped is opaque, 1 to 65535 bytes.
	Wrap(ctx context.Context, dek, aad []byte) (keyID string, wrapped []byte, err error)

	// Unwrap reverses Wrap. It must fail when aad differs from the one
	// given to Wrap, wrapping ErrDecrypt where it can tell, and wrap
	// ErrUnknownKey when it does not hold keyID. The caller owns, and
	// zeroes, the returned key.
	Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) (dek []byte, err error)
}
