package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/secrets"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// DefaultListen is where `carnot dev` and `carnot server` serve the
// tenant API unless told otherwise, and DefaultAdminListen the operator
// API; the CLI's default server addresses point there.
const (
	DefaultListen      = "127.0.0.1:7460"
	DefaultAdminListen = "127.0.0.1:7461"
)

// serverOpts are the flags shared by `carnot server` and `carnot dev`.
type serverOpts struct {
	listen    string
	dataDir   string
	facility  string
	site      string
	country   string
	grid      []string
	heartbeat time.Duration
	timeout   time.Duration
	// stopAfterDisconnect: server.Config.StopAfterDisconnect
	stopAfterDisconnect time.Duration
	logLevel            string
	dynamic             bool // admit nodes the facility file does not list
	auditKey            string
	postgres            string // a PostgreSQL URL instead of the embedded store
	// dev is set by carnot dev: its facility without --facility is
	// named dev, carnot server's carnot.
	dev bool

	adminListen string
	tlsCert     string
	tlsKey      string
	tlsHosts    []string
	tokenKey    string
	secretsKey  string

	auditRetention time.Duration
	retentionWhy   string

	replicaName string
	leaseTTL    time.Duration

	// nodeCertTTL, set by tests only, is the life of the node
	// certificates the server signs (0: server.Config's default).
	nodeCertTTL time.Duration
}

func (o *serverOpts) flags(c *cobra.Command, dataDir string) {
	f := c.Flags()
	f.StringVar(&o.listen, "listen", DefaultListen, "address of the tenant API (host:port; port 0 picks a free one)")
	f.StringVar(&o.adminListen, "admin-listen", DefaultAdminListen, "address of the operator API: every route, incl. nodes, drain, metrics and the node agents' (host:port; port 0 picks a free one)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "server certificate (PEM) for both listeners; default: one of the built-in CA (DATA-DIR/tls) for this machine's names")
	f.StringVar(&o.tlsKey, "tls-key", "", "private key of --tls-cert")
	f.StringSliceVar(&o.tlsHosts, "tls-host", nil, "more DNS names or IPs for the built-in CA's server certificate, repeatable")
	f.StringVar(&o.tokenKey, "token-key", "", "file of the key the API tokens' hashes are made with (64 hex digits; every replica needs the same; further lines after a 'carnot token rotate-key', the last one the key, the others previous keys whose tokens still authenticate), which must exist and be readable by its owner only (chmod 600); default DATA-DIR/token.key, made at the first start")
	f.StringVar(&o.secretsKey, "secrets-key", "", "key file of the tenant secrets' envelope encryption (docs/security.md); default DATA-DIR/secrets.key, made at the first start — keep it out of database backups")
	f.StringVar(&o.dataDir, "data-dir", dataDir, "directory of the embedded SQLite store (carnot.db)")
	f.StringVar(&o.facility, "facility", "", "facility file (docs/facility.md); without it, one site (--site, --country) that nodes join as they register")
	f.StringVar(&o.site, "site", "local", "the site of the facility without --facility")
	f.StringVar(&o.country, "country", "FR", "the site's country (ISO 3166-1 alpha-2) without --facility")
	f.StringSliceVar(&o.grid, "grid", nil, "hourly grid CSV as ZONE=FILE (docs/twin.md), repeatable; without it, the bundled 2023 series of FR and DE laid on the calendar of this year and the next")
	f.DurationVar(&o.heartbeat, "heartbeat", time.Second, "agents' heartbeat interval")
	f.DurationVar(&o.timeout, "heartbeat-timeout", 10*time.Second, "silence after which a node is not ready and its replicas lost; at least twice --heartbeat")
	f.DurationVar(&o.stopAfterDisconnect, "stop-after-disconnect", 0, "agents stop their tasks after this long without the server, and a silent node's replicas count as lost only once they have (no replica runs twice in a partition); at least --heartbeat-timeout, 0 = off (docs/reliability.md)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&o.auditRetention, "audit-retention", server.MinAuditRetention, "how long audit entries are kept at least (Carnot deletes none today); below 180 days only with --audit-retention-override")
	f.StringVar(&o.retentionWhy, "audit-retention-override", "", "the reason for an --audit-retention below 180 days, recorded in the audit log at every start")
	f.StringVar(&o.auditKey, "audit-key", "", "signer key file of the audit log (carnot audit keygen), readable by its owner only (chmod 600); default: DATA-DIR/audit.key, made at the first start (mode 0600) with its verifier key in DATA-DIR/audit.pub")
}

// auditSigner reads the audit signer key, or makes one (mode 0600) in
// the data directory at the first start. A key file group or others may
// access is refused, as the token key is: with it, anyone could sign a
// checkpoint of a log rewritten to hide what happened.
func (o *serverOpts) auditSigner(name string) (note.Signer, string, error) {
	path := o.auditKey
	if path == "" {
		path = filepath.Join(o.dataDir, "audit.key")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			skey, vkey, err := note.GenerateKey(rand.Reader, auditKeyName(name))
			if err != nil {
				return nil, "", err
			}
			if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
				return nil, "", err
			}
			if err := writeNew(path, skey+"\n", 0o600); err != nil {
				return nil, "", err
			}
			if err := os.WriteFile(filepath.Join(o.dataDir, "audit.pub"), []byte(vkey+"\n"), 0o644); err != nil {
				return nil, "", err
			}
		}
	}
	b, err := readPrivate(path)
	if err != nil {
		return nil, "", flagError("--audit-key", o.auditKey, keyFileError("audit key", path, err))
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, "", flagError("--audit-key", o.auditKey, fmt.Errorf("audit key %s: not a signer key: %w", path, err))
	}
	return s, path, nil
}

// auditKeyName is a key name from a facility name, carnot-FACILITY
// (carnot for carnot server's facility without a file): letters,
// digits, '-', '.' and '_' only.
func auditKeyName(fac string) string {
	name := "carnot-" + fac
	if fac == serverFacility {
		name = fac // carnot, not carnot-carnot
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			b[i] = '-'
		}
	}
	return string(b)
}

func logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// serverFacility is the name of carnot server's facility without
// --facility (carnot dev's is dev): its audit signer key is named
// carnot, its log's origin carnot audit carnot.
const serverFacility = "carnot"

// facilityOf is the facility a server runs: the file, or one site that
// nodes join as they register. dynamic says whether unlisted nodes may
// join.
func (o *serverOpts) facilityOf() (*model.Facility, bool, error) {
	if o.facility == "" {
		if len(o.country) != 2 {
			return nil, false, usageError{fmt.Errorf("--country: %q is not a two-letter country code", o.country)}
		}
		f := server.DevFacility(o.site, o.country)
		if !o.dev {
			f.Name = serverFacility
		}
		return f, true, nil
	}
	f, err := facility.LoadFile(o.facility)
	return f, o.dynamic, err
}

// securityFiles are a server's keys and certificates.
type securityFiles struct {
	tokenKey []byte
	// previousTokenKeys are the older keys of the token key file.
	previousTokenKeys [][]byte
	secrets           *secrets.KeyFile
	ca                *pki.CA
	caFile            string
	cert              tls.Certificate
}

// security reads (or, at the first start, makes) the token key, the
// secrets key, the built-in CA and the server certificate.
func (o *serverOpts) security() (*securityFiles, error) {
	var sf securityFiles
	var err error
	path, create := o.tokenKey, false
	if path == "" {
		path, create = filepath.Join(o.dataDir, tokenKeyFile), true
	}
	if sf.tokenKey, sf.previousTokenKeys, err = loadOrCreateTokenKey(path, create); err != nil {
		return nil, flagError("--token-key", o.tokenKey, err)
	}
	path = o.secretsKey
	if path == "" {
		path = filepath.Join(o.dataDir, secretsKeyFile)
	}
	if sf.secrets, err = loadOrCreateSecretsKey(path); err != nil {
		return nil, flagError("--secrets-key", o.secretsKey, err)
	}
	dir := filepath.Join(o.dataDir, tlsDir)
	if sf.ca, _, err = pki.LoadOrCreateCA(dir); err != nil {
		return nil, fmt.Errorf("the built-in CA: %w", err)
	}
	sf.caFile = filepath.Join(dir, pki.CACertFile)
	if sf.cert, err = serverTLS(o, sf.ca); err != nil {
		return nil, err
	}
	return &sf, nil
}

// flagError is err, of a file that flag names when given (not ""):
// prefixed with the flag when it was, as it is otherwise (the error names
// the data directory's file).
func flagError(flag, given string, err error) error {
	if given == "" {
		return err
	}
	return fmt.Errorf("%s: %w", flag, err)
}

// controlPlane is a running server: its store, its two HTTPS listeners
// (tenant and operator) and its loop. With PostgreSQL it is one replica
// of several: it serves both listeners at once, forwarding requests to
// the leader while it is not the leader itself (replica.go).
type controlPlane struct {
	srv      *server.Server // nil while a standby
	cfg      server.Config  // the server's, but for its store when a replica
	store    store.Store
	where    string // the store, for humans
	https    []*http.Server
	url      string // the tenant API
	adminURL string // the operator API
	caFile   string // the built-in CA's certificate
	dataDir  string // --data-dir, where the bootstrap token goes
	log      *slog.Logger

	// replica: the leader election on PostgreSQL; nil with SQLite.
	replica *replica
	// tenantH and adminH serve the listeners: the server's handlers, or
	// the standby's until this replica leads.
	tenantH, adminH atomic.Pointer[http.Handler]
	// leading is set while the server's handlers serve the listeners.
	leading atomic.Bool
}

// close stops serving at once.
func (cp *controlPlane) close() {
	for _, hs := range cp.https {
		hs.Close()
	}
}

// startControlPlane opens the store and starts serving: with SQLite the
// server at once; with PostgreSQL as a standby replica until run wins the
// leadership.
func startControlPlane(ctx context.Context, o *serverOpts, log *slog.Logger) (*controlPlane, error) {
	if o.auditRetention < 0 {
		return nil, usageError{fmt.Errorf("--audit-retention %s: must not be negative", o.auditRetention)}
	}
	if o.postgres != "" && o.leaseTTL < 300*time.Millisecond {
		return nil, usageError{fmt.Errorf("--lease-ttl %s: at least 300ms (renewed every third of it)", o.leaseTTL)}
	}
	if o.heartbeat > 0 && o.timeout > 0 && o.timeout < 2*o.heartbeat {
		return nil, usageError{fmt.Errorf("--heartbeat-timeout %s: at least twice --heartbeat (%s): every node would be taken for silent between its heartbeats, or at one late, and its work lost", o.timeout, o.heartbeat)}
	}
	if d := o.stopAfterDisconnect; d < 0 || d > 0 && o.timeout > 0 && d < o.timeout {
		return nil, usageError{fmt.Errorf("--stop-after-disconnect %s: 0 (off) or at least --heartbeat-timeout (%s): agents would stop their work before the server notices they are gone", d, o.timeout)}
	}
	fac, dynamic, err := o.facilityOf()
	if err != nil {
		return nil, err
	}
	series, err := o.gridOf(time.Now())
	if err != nil {
		return nil, err
	}
	signer, keyPath, err := o.auditSigner(fac.Name)
	if err != nil {
		return nil, err
	}
	log.Info("audit log", "signer_key", keyPath, "verifier", signer.Name())
	var db store.Store
	var pg *postgres.DB
	where := filepath.Join(o.dataDir, "carnot.db")
	if o.postgres != "" {
		pg, err = postgres.Open(ctx, o.postgres)
		db, where = pg, "PostgreSQL"
		if err != nil {
			err = fmt.Errorf("--postgres: %w", err)
		}
	} else {
		db, err = sqlite.Open(where)
	}
	if err != nil {
		return nil, err
	}
	sec, err := o.security()
	if err != nil {
		db.Close()
		return nil, err
	}
	if o.tlsKey != "" {
		if warn := othersMayRead(o.tlsKey); warn != "" {
			log.Warn(warn)
		}
	}
	cp := &controlPlane{store: db, where: where, caFile: sec.caFile, dataDir: o.dataDir, log: log,
		cfg: server.Config{Facility: fac, DynamicNodes: dynamic, Store: db, Grid: series,
			Heartbeat: o.heartbeat, HeartbeatTimeout: o.timeout, StopAfterDisconnect: o.stopAfterDisconnect, Logger: log, AuditSigner: signer,
			TokenKey: sec.tokenKey, PreviousTokenKeys: sec.previousTokenKeys, CA: sec.ca, Secrets: sec.secrets,
			AuditRetention: o.auditRetention, AuditRetentionOverride: o.retentionWhy, NodeCertTTL: o.nodeCertTTL,
			AuditWitness: filepath.Join(o.dataDir, "audit.last")}}
	tenantTLS, err := pki.ServerConfig(sec.cert, sec.ca.Pool(), pki.NoClientCert)
	if err != nil {
		db.Close()
		return nil, err
	}
	adminTLS, err := pki.ServerConfig(sec.cert, sec.ca.Pool(), pki.VerifyClientCertIfGiven)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, l := range []struct {
		addr, flag string
		h          *atomic.Pointer[http.Handler]
		cfg        *tls.Config
		url        *string
	}{
		{o.listen, "--listen", &cp.tenantH, tenantTLS, &cp.url},
		{o.adminListen, "--admin-listen", &cp.adminH, adminTLS, &cp.adminURL},
	} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			cp.close()
			db.Close()
			return nil, fmt.Errorf("listening on %s: %w (another carnot running? choose %s)", l.addr, err, l.flag)
		}
		h := l.h
		hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, TLSConfig: l.cfg,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
			Handler:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) })}
		cp.https = append(cp.https, hs)
		*l.url = "https://" + ln.Addr().String()
		go hs.Serve(tls.NewListener(ln, l.cfg))
	}
	if pg == nil {
		if err := cp.lead(ctx, db, nil); err != nil {
			cp.close()
			db.Close()
			return nil, err
		}
		return cp, nil
	}
	if msg, err := tokenKeyMismatch(ctx, pg, sec.tokenKey, sec.previousTokenKeys...); err != nil {
		log.Warn("cannot compare the token key with the store's", "err", err)
	} else if msg != "" {
		log.Error(msg)
	}
	roots := leaderRoots(sec.ca, sec.cert, systemRoots())
	if msg := checkLeaderRoots(sec.cert, roots); msg != "" {
		log.Warn(msg)
	}
	if cp.replica, err = newReplica(o, pg, cp, roots); err != nil {
		cp.close()
		db.Close()
		return nil, err
	}
	return cp, nil
}

// lead builds the server on st and serves its handlers; a replica's
// server runs under its lease l (nil for a single server).
func (cp *controlPlane) lead(ctx context.Context, st store.Store, l *server.Leadership) error {
	cfg := cp.cfg
	cfg.Store, cfg.Leader = st, l
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	cp.srv = srv
	th, ah := srv.TenantHandler(), srv.Handler()
	cp.tenantH.Store(&th)
	cp.adminH.Store(&ah)
	cp.leading.Store(true)
	return nil
}

// runRecovering runs the server's loop until ctx is done; when a commit
// fails (the database went away, the disk is full) it builds the server
// again from the store, retrying with backoff until the store answers,
// so that the control plane recovers without an operator.
func (cp *controlPlane) runRecovering(ctx context.Context, st store.Store, l *server.Leadership) error {
	for {
		err := cp.srv.Run(ctx)
		if !errors.Is(err, server.ErrCommitFailed) || ctx.Err() != nil {
			return err
		}
		cp.srv.Retire() // its handlers serve until the new server's replace them
		backoff := 100 * time.Millisecond
		for {
			cp.log.Warn("reloading the state from the store after a failed commit", "err", err)
			if err = cp.lead(ctx, st, l); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// run runs the loop until ctx is done (a replica: campaigns, and runs
// the loop while it leads), then stops serving and closes the store.
// onLeader runs once the server runs (at once with SQLite).
func (cp *controlPlane) run(ctx context.Context, onLeader func(context.Context) error) error {
	var err error
	if cp.replica != nil {
		err = cp.replica.run(ctx, onLeader)
	} else if err = onLeader(ctx); err == nil {
		err = cp.runRecovering(ctx, cp.store, nil)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, hs := range cp.https {
		hs.Shutdown(sctx)
	}
	if cerr := cp.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newServerCmd() *cobra.Command {
	o := &serverOpts{}
	c := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: API, scheduler loop and store",
		Long: `Run the control plane: the API under /v1, the scheduler loop and the
embedded SQLite store in --data-dir. Node agents ('carnot agent') register
with it; the CLI talks to it. Stop it with Ctrl-C.

A start without a valid operator-admin token (the first one, or after the
token key changed) writes one to DATA-DIR/bootstrap.token (mode 0600) and
says so; the token itself is never printed nor logged. Make your own
operator-admin token with it, then revoke it and delete the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger(cmd.ErrOrStderr(), o.logLevel)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			cp, err := startControlPlane(ctx, o, log)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "carnot server: tenant API on %s, operator API on %s (store %s, CA %s)\n", cp.url, cp.adminURL, cp.where, cp.caFile)
			// the log too, for a server under a supervisor whose stdout
			// nobody reads
			log.Info("serving", "version", Version, "tenant_api", cp.url, "operator_api", cp.adminURL, "store", cp.where)
			err = cp.run(ctx, func(ctx context.Context) error { return cp.bootstrap(ctx, out) })
			if err != nil {
				log.Error("stopped", "err", err)
			} else {
				log.Info("stopped")
			}
			return err
		},
	}
	o.flags(c, "carnot-data")
	c.Flags().StringVar(&o.postgres, "postgres", "", "PostgreSQL URL (postgres://user:pass@host:5432/db?sslmode=…) to keep the state in, instead of the embedded SQLite store; --data-dir still holds the keys (token, secrets, audit) and the built-in CA")
	c.Flags().StringVar(&o.replicaName, "replica-name", "", "with --postgres, this replica's name in the leader lease (default HOST-PID); each process adds a random instance ID, so two processes with one name are two holders")
	c.Flags().DurationVar(&o.leaseTTL, "lease-ttl", 5*time.Second, "with --postgres, the leader lease: a leader silent this long is replaced, renewed every third of it")
	c.Flags().BoolVar(&o.dynamic, "dynamic-nodes", false, "with --facility, admit nodes it does not list into the sites they name (each in a rack of its own)")
	return c
}

// bootstrapTokenFile is the file of DATA-DIR the bootstrap token is
// written to.
const bootstrapTokenFile = "bootstrap.token"

// bootstrap writes, once, an operator-admin token when the server has
// none: the first credential of a new control plane, and the way back in
// after the token key changed (the previous key's tokens no longer
// authenticate). The token goes to DATA-DIR/bootstrap.token (mode 0600),
// never to out (the terminal, or a journal that keeps it) nor to the log,
// which both say where it is.
func (cp *controlPlane) bootstrap(ctx context.Context, out io.Writer) error {
	if prev := cp.srv.TokenKeyChangedFrom(); prev != "" {
		fmt.Fprintf(out, "the token key changed since the last start (key ID %s, was %s): the tokens made under the previous key no longer authenticate; restore its file to bring them back (docs/security.md)\n",
			cp.srv.TokenKeyID(), prev)
	}
	has, err := cp.srv.HasOperatorAdmin(ctx)
	if err != nil || has {
		return err
	}
	tok, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "bootstrap", Role: string(auth.OperatorAdmin)}, "server:bootstrap")
	if err != nil {
		return err
	}
	path := filepath.Join(cp.dataDir, bootstrapTokenFile)
	if err := writePrivate(path, []byte(tok.Secret+"\n")); err != nil {
		return fmt.Errorf("writing the bootstrap token: %w", err)
	}
	fmt.Fprintf(out, "bootstrap operator-admin token written to %s (mode 0600): use it to make your own ('carnot token create'), then revoke it and delete the file\n", path)
	cp.log.Warn("bootstrap operator-admin token written: make your own, then revoke it and delete the file", "file", path, "id", tok.ID)
	return nil
}

// writePrivate replaces file path with data, readable by its owner only
// whatever the umask: written to a new file of the directory, then
// renamed over path, so no reader finds it half written or open to others.
func writePrivate(path string, data []byte) error {
	return writeReplacing(path, data, 0o600)
}

// writeReplacing replaces file path with data, of mode perm whatever the
// umask: written to a new file of the directory and synced, then renamed
// over path, so that neither a reader nor a crash finds it half written.
func writeReplacing(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
