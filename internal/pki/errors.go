package pki

import "errors"

// Errors callers can test with errors.Is. The wrapping messages name the
// file, the name or the certificate at fault and say what to do; they
// hold no key material, so they are safe to return to an enrolling agent.
var (
	// ErrInvalidName: a site or node name is not a simple identifier
	// (see CheckName).
	ErrInvalidName = errors.New("invalid name")
	// ErrBadCSR: a certificate signing request cannot be parsed, is not
	// signed by its own key, or uses an unsupported key.
	ErrBadCSR = errors.New("bad certificate signing request")
	// ErrNodeMismatch: the CSR names another node than the one the CA was
	// asked to certify.
	ErrNodeMismatch = errors.New("CSR names another node")
	// ErrNoIdentity: a certificate does not carry exactly one well-formed
	// carnot node URI.
	ErrNoIdentity = errors.New("no valid node identity in certificate")
	// ErrNoClientCert: the peer presented no verified client certificate.
	ErrNoClientCert = errors.New("no verified client certificate")
	// ErrKeyPermissions: a private key file can be read by group or
	// others.
	ErrKeyPermissions = errors.New("private key file is readable by others")
)
