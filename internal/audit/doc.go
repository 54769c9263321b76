// Package audit is Carnot's tamper-evident audit log.
//
// Every API call and scheduling decision worth answering for later is an
// Entry: who (Actor, Tenant) did what (Kind, Action) to which job or node,
// when, with a free-text Detail. Entries form an append-only Merkle tree
// in the style of Certificate Transparency and the Go checksum database,
// built with golang.org/x/mod/sumdb/tlog; nothing here hand-rolls hashing
// or proofs.
//
// The loop:
//
//	log, _ := audit.New("carnot audit paris", audit.NewMemStore())
//	log.Append(entries...)            // leaf hash = tlog.RecordHash(canonical JSON)
//	cp, _ := log.Checkpoint(signer)   // signed note: origin, tree size, root
//	audit.Export(ctx, w, log, cps)    // JSONL: entries, checkpoints after them
//	res, err := audit.Verify(r, verifier, trusted) // offline, by anyone with the key
//
// A checkpoint is a signed note (golang.org/x/mod/sumdb/note, Ed25519) whose
// text is tlog.FormatTree with its first line replaced by the log's origin,
// the C2SP tlog-checkpoint layout. Whoever keeps a checkpoint can later
// prove that the log was only ever appended to: Verify recomputes every
// signed root from the entries and checks the export against the
// checkpoint it is given, and without the export VerifyConsistency checks
// a newer checkpoint against it with a proof from Log.ConsistencyProof
// (hashes only). A tenant holding one entry checks it with
// VerifyInclusion against a signed checkpoint without seeing anyone
// else's entries. EncodeHashes and DecodeHashes carry proofs in the API.
//
// Storage stays behind Store, four methods a database can implement in
// the same transaction as the change being audited; MemStore is the
// in-memory one. HashStore is the stored hashes in memory (Store's
// ReadHashes and Size) for a store that keeps its records apart: MemStore
// in memory, the server's in its events table. Failures are reported with sentinel errors (ErrModified,
// ErrDeleted, ErrTruncated, ErrReordered, ErrForked, ErrBadSignature,
// ErrRollback, …) for errors.Is, wrapped in a message that says where.
// docs/audit.md describes the export format and the threat model.
package audit
