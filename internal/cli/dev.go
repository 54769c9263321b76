package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/gpu"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/server"
)

// devDataDir is carnot dev's default --data-dir, where the CLI looks for
// its token and CA.
const devDataDir = "carnot-dev"

func newDevCmd() *cobra.Command {
	so := &serverOpts{dev: true}
	ao := &agentOpts{}
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run a development control plane: server, embedded store and an agent for this machine",
		Long: `Run the whole control plane in one process, the way 'nomad agent -dev'
does: the API and scheduler loop, the embedded SQLite store in --data-dir,
and a node agent for this machine that runs jobs as real processes. On a
machine without NVIDIA GPUs the agent has 8 fake H100s (--fake-gpus,
--gpu-model) so that GPU jobs can be tried; a task's CUDA_VISIBLE_DEVICES
names its GPUs by UUID, as with real ones. Energy is priced with the
bundled 2023 French grid series laid on the calendar of this year and
the next (29 February repeats the 28th).

In a second shell:

  carnot run --gpus 2 --replicas 2 -- sh -c 'echo rank $RANK of $WORLD_SIZE on GPUs $CUDA_VISIBLE_DEVICES'
  carnot jobs --all
  carnot logs JOB

Stop it with Ctrl-C; its state stays in --data-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger(cmd.ErrOrStderr(), so.logLevel)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			ao.site, ao.dataDir = so.site, filepath.Join(so.dataDir, "agent")
			if so.facility != "" && !cmd.Flags().Changed("site") {
				return usageError{errors.New("--site: with --facility, name the facility's site this machine is in")}
			}
			// The server outlives the agent, so that the agent's last reports
			// (its tasks stopped on Ctrl-C) reach it.
			sctx, scancel := context.WithCancel(context.Background())
			defer scancel()
			cp, err := startControlPlane(sctx, so, log.With("component", "server"))
			if err != nil {
				return err
			}
			cpDone := make(chan error, 1)
			go func() { cpDone <- cp.run(sctx, func(context.Context) error { return nil }) }()
			devTok, err := cp.devToken(ctx, so.dataDir)
			if err == nil {
				// The agent of this machine enrolls like any other: a join
				// token of the site for a certificate binding it there (once:
				// later starts use the certificate in its data directory).
				ao.ca = cp.caFile
				ao.taskServer = cp.url // tasks call the tenant API, with their job token
				ao.join, err = cp.devJoin(ctx, ao.dataDir, ao.name, so.site)
			}
			var a *nodeAgent
			var devs gpu.Devices
			if err == nil {
				a, devs, err = ao.newAgent(ctx, cp.adminURL, log, true)
			}
			if err != nil {
				scancel()
				<-cpDone
				return err
			}
			if devs != nil {
				defer devs.Close()
			}
			agentDone := make(chan error, 1)
			go func() { agentDone <- a.Run(ctx) }()
			devBanner(cmd.OutOrStdout(), devInfo{url: cp.url, adminURL: cp.adminURL, dataDir: so.dataDir,
				node: ao.name, site: so.site, token: devTok, tenant: devTenant(cp.cfg.Facility)})
			<-ctx.Done()
			var aerr error
			select {
			case aerr = <-agentDone:
			case <-time.After(30 * time.Second):
				log.Warn("the agent did not stop within 30 s")
			}
			scancel()
			err = <-cpDone
			if err == nil && aerr != nil && !errors.Is(aerr, context.Canceled) {
				err = aerr
			}
			return err
		},
	}
	so.flags(c, devDataDir)
	so.dynamic = true // this machine joins the facility, listed or not
	ao.flags(c, false)
	return c
}

// devToken is carnot dev's operator-admin token: the one in the data
// directory while it still holds, else a new one written there (0600).
func (cp *controlPlane) devToken(ctx context.Context, dataDir string) (string, error) {
	path := filepath.Join(dataDir, devTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if p, ok := cp.srv.Authenticates(ctx, tok); ok && p.Role == auth.OperatorAdmin {
			return tok, nil
		}
	}
	tok, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "dev", Role: string(auth.OperatorAdmin)}, "dev")
	if err != nil {
		return "", err
	}
	os.Remove(path)
	if err := writeNew(path, tok.Secret+"\n", 0o600); err != nil {
		return "", err
	}
	return tok.Secret, nil
}

// devJoin is the join token for this machine's agent, node, whose
// certificate is in dir: none when it holds; else a new one, and, when
// the certificate cannot renew itself (expired, gone with dir, or one
// the server refuses: revoked), the operator's word that the node may
// enroll again (a join token enrolls a name once).
func (cp *controlPlane) devJoin(ctx context.Context, dir, node, site string) (string, error) {
	cert, _, ok, _ := nodeCertificate(dir, node)
	refused := cert.Leaf != nil && cp.srv.NodeCertRefused(node, cert.Leaf) != "" // revoked, say
	if ok && !refused {
		return "", nil
	}
	if refused || !pki.Renewable(cert.Leaf, node, time.Now()) {
		if _, err := cp.srv.AllowReenroll(ctx, node, "dev", server.DefaultReenrollTTL, ""); err != nil && !errors.Is(err, server.ErrNeverEnrolled) {
			return "", err
		}
	}
	return cp.joinToken(ctx, site)
}

// joinToken is a short-lived join token for this machine's agent.
func (cp *controlPlane) joinToken(ctx context.Context, site string) (string, error) {
	tok, err := cp.srv.MintToken(ctx, api.TokenRequest{Name: "dev-join", Role: string(auth.Join), Site: site, TTLSeconds: 600}, "dev")
	if err != nil {
		return "", err
	}
	return tok.Secret, nil
}

// devInfo is what carnot dev tells its user at the start.
type devInfo struct {
	url, adminURL, dataDir, node, site, token string
	// tenant is the tenant the first command names: "" when the server
	// submits the development token's jobs as its tenant "default".
	tenant string
}

// devTenant is the tenant the banner's command submits as: none where the
// facility has the tenant "default", which the server gives the jobs of a
// token bound to no tenant, else the facility's first.
func devTenant(f *model.Facility) string {
	if f == nil || len(f.Tenants) == 0 || f.Tenant(server.DefaultTenant) != nil {
		return ""
	}
	return f.Tenants[0].Name
}

// devBanner says where carnot dev serves and how to point the CLI at it.
// The CLI finds the token and the CA by itself only in ./carnot-dev, so
// for another --data-dir (or other ports) the banner gives the
// environment that does, instead of a first command that fails.
func devBanner(out io.Writer, d devInfo) {
	fmt.Fprintf(out, "carnot dev: server on %s (operator API %s), store %s, node %s in site %s\n",
		d.url, d.adminURL, filepath.Join(d.dataDir, "carnot.db"), d.node, d.site)
	tokenFile := filepath.Join(d.dataDir, devTokenFile)
	var env []string
	if d.url != "https://"+DefaultListen {
		env = append(env, addrEnv+"="+shellJoin([]string{d.url}))
	}
	if d.adminURL != "https://"+DefaultAdminListen {
		env = append(env, adminAddrEnv+"="+shellJoin([]string{d.adminURL}))
	}
	if filepath.Clean(d.dataDir) != devDataDir {
		dir := d.dataDir
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		tokenFile = filepath.Join(dir, devTokenFile)
		env = append(env, caEnv+"="+shellJoin([]string{filepath.Join(dir, tlsDir, pki.CACertFile)}),
			tokenEnv+"=$(cat "+shellJoin([]string{tokenFile})+")")
		fmt.Fprintf(out, "development token (operator-admin, in %s):\n  %s\n", tokenFile, d.token)
	} else {
		fmt.Fprintf(out, "development token (operator-admin, in %s; the CLI uses it from this directory):\n  %s\n", tokenFile, d.token)
	}
	try := "carnot run --gpus 2 --replicas 2 -- sh -c 'echo rank $RANK of $WORLD_SIZE on GPUs $CUDA_VISIBLE_DEVICES'"
	if d.tenant != "" {
		try = "carnot run --tenant " + shellJoin([]string{d.tenant}) + strings.TrimPrefix(try, "carnot run")
	}
	if len(env) == 0 {
		fmt.Fprintf(out, "try in another shell: %s\n", try)
		return
	}
	fmt.Fprintf(out, "try in another shell:\n  export %s\n  %s\n", strings.Join(env, " "), try)
}
