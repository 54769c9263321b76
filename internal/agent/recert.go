package agent

import "errors"

// A node's certificate renewed while the agent runs (pki.Renewer) is
// presented from the agent's next connections on; the server refuses
// the previous one from the node's first request with the new one. A
// call still out with the previous certificate then may be refused
// (401) for it: the long poll, above all, which the server wakes to
// check its certificate again. CertificateRenewed makes the poll again
// at once, with the new certificate, and a call refused while the
// certificate changed is made again rather than taken for an outage or
// a refusal of the node (refusedLogs would drop the logs token).
//
// It also makes a heartbeat soon, with the new certificate: the server
// gives the node a new logs token once it uses the new one (whoever
// holds a copy of the previous one's key may have learned the token
// before), and the heartbeat's answer gives it to the log server,
// which would refuse the server's log fetches until then.

// CertificateRenewed tells the agent that its client presents a renewed
// certificate from now (its connections made with the previous one
// left: client.Reconnect): its long poll, out with the previous one, is
// made again at once, and a heartbeat is sent soon.
func (a *Agent) CertificateRenewed() {
	a.certGen.Add(1)
	select {
	case a.recert <- struct{}{}:
	default:
	}
	a.notify()
}

// errRecert is the error of a call that failed while the certificate
// changed (CertificateRenewed): it was sent with the previous one, which
// the server may refuse by then; it is made again with the new one.
var errRecert = errors.New("sent with the node's previous certificate, renewed meanwhile")
