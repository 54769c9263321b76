package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// connectCall is one connect(2) strace recorded: the address family and,
// for IP, the address and port.
var connectCall = regexp.MustCompile(`connect\(\d+, \{sa_family=(AF_\w+)(.*?)\}`)
var ipAddr = regexp.MustCompile(`inet_(?:addr|pton)\((?:AF_INET6, )?"([^"]+)"`)
var ipPort = regexp.MustCompile(`sin6?_port=htons\((\d+)\)`)

// Nothing phones home: `carnot dev` and a job run under strace, which
// records every connect(2) of the server, the agent and the job's
// processes; every one must be to loopback (or a local socket), and none
// to a DNS resolver.
func TestNoPhoneHome(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		// .ci/run installs strace, so CI always runs this test.
		t.Skipf("needs strace (apt-get install strace): %v", err)
	}
	trace := filepath.Join(t.TempDir(), "connect.trace")
	d := startDevUnder(t, []string{"strace", "-f", "-qq", "-e", "trace=connect", "-o", trace})
	j := d.submit(map[string]any{"gpus": 2, "replicas": 2, "command": sh("echo hi; sleep 0.5")})
	d.waitState(j.ID, api.StateSucceeded, 30*time.Second)
	rc, err := d.cl.Logs(context.Background(), j.ID, client.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := d.cl.AuditExport(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.stop()
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	n, bad := outbound(b)
	if n < 3 {
		t.Fatalf("strace recorded %d connect calls; the agent alone makes several (trace:\n%s)", n, b)
	}
	for _, c := range bad {
		t.Errorf("an outbound connection: %s", c)
	}
	t.Logf("%d connect calls, all local", n)
}

// outbound reads strace's connect(2) lines: the number of calls, and
// those to anything but loopback or a local socket, or to port 53.
func outbound(trace []byte) (int, []string) {
	calls := connectCall.FindAllStringSubmatch(string(trace), -1)
	var bad []string
	for _, c := range calls {
		family, rest := c[1], c[2]
		switch family {
		case "AF_UNIX", "AF_UNSPEC":
			continue // a local socket, or disconnecting a socket
		case "AF_INET", "AF_INET6":
		default:
			bad = append(bad, c[0])
			continue
		}
		addr, port := ipAddr.FindStringSubmatch(rest), ipPort.FindStringSubmatch(rest)
		if addr == nil || port == nil {
			bad = append(bad, c[0])
			continue
		}
		loop := strings.HasPrefix(addr[1], "127.") || addr[1] == "::1" || addr[1] == "::ffff:127.0.0.1"
		if !loop || port[1] == "53" {
			bad = append(bad, c[0])
		}
	}
	return len(calls), bad
}

// The trace reader flags what it should.
func TestOutboundReader(t *testing.T) {
	trace := `1234  connect(3, {sa_family=AF_INET, sin_port=htons(7460), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
1234  connect(4, {sa_family=AF_INET6, sin6_port=htons(7460), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
1235  connect(5, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT
1236  connect(6, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("203.0.113.7")}, 16) = -1 EINPROGRESS
1237  connect(7, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0
1238  connect(8, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1
`
	n, bad := outbound([]byte(trace))
	if n != 6 || len(bad) != 3 || !strings.Contains(bad[0], "203.0.113.7") || !strings.Contains(bad[1], "htons(53)") || !strings.Contains(bad[2], "2001:db8::1") {
		t.Errorf("outbound = %d, %q", n, bad)
	}
}
