// Package pki issues and checks the certificates that secure Carnot's
// connections: a built-in development CA, server certificates, node
// identity certificates, and the TLS configurations that use them. It uses
// only the standard library (crypto/x509, ECDSA P-256, crypto/tls).
//
// # Who decides a node's identity
//
// A node's identity is its node name and its site; the site fixes the
// node's jurisdiction, and sovereignty rests on it. The node never decides
// it. Enrollment runs as follows:
//
//  1. An operator creates a join token for a site. The server stores which
//     site the token is for.
//  2. The agent makes a key (NewNodeKey) and a certificate signing request
//     naming only its node (NodeCSR), and sends the CSR with the token.
//  3. The server looks the token up, and so learns the site from its own
//     records, not from the request. It calls CA.SignNode with that site
//     and the node name the token allows. SignNode checks the CSR's
//     signature (the agent holds the key), checks that the node name in
//     the CSR is the expected one, and otherwise ignores everything the
//     CSR claims: subject fields, SANs, extensions. It writes the identity
//     the CA decided into the certificate as exactly one URI SAN,
//     carnot://node/<site>/<node>, with ExtKeyUsage ClientAuth (its calls
//     to the server) and ServerAuth (its log server, which the server
//     reaches by identity with NodeServerConfig, never by host name).
//  4. The agent stores the key and certificate (SaveNode) and from then on
//     connects with mutual TLS (ClientConfig). It renews the certificate
//     with itself before it expires; while it runs, a Renewer does, and
//     the configurations of NodeCert present the new one to new
//     connections.
//
// On every request the server takes the node's site from the verified
// client certificate (PeerIdentity on the connection state), never from
// the request body. A heartbeat or registration that names another site
// cannot change it: the server compares the claim with the certificate,
// refuses a mismatch, and audits the attempt. Moving a node to another
// site means enrolling it again with a token for that site.
//
// Site and node names are simple identifiers (CheckName): a letter or
// digit, then up to 127 letters, digits, '.', '_' or '-'. Names are
// case-sensitive and never contain '/', so the URI has exactly one
// reading.
//
// # Certificates and keys
//
// The development CA (LoadOrCreateCA) is self-signed, ECDSA P-256, valid
// about ten years, and kept in a directory as ca.crt and ca.key (mode
// 0600, written atomically, never overwritten). Anyone holding ca.key can
// mint node identities for any site: in production keep it off shared
// disks, or hand the server operator-provided certificates (LoadKeyPair,
// LoadPool) for its listeners and keep the CA for node enrollment only.
//
// Server certificates (CA.IssueServer) carry ExtKeyUsage ServerAuth only
// and exactly the host names and IP addresses the caller lists, and no
// node identity, so they cannot stand in for a node. Node certificates
// name no host, so they cannot stand in for a server reached by name.
//
// All TLS configurations require TLS 1.3. ServerConfig refuses a client
// certificate mode without a CA pool, because crypto/tls would otherwise
// verify client certificates against the system roots.
package pki
