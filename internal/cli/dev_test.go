package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/server"
)

// The banner's first command works as printed: with another --data-dir
// or other ports, the CLI (which looks only in ./carnot-dev) is given the
// addresses, the CA and the token through the environment.
func TestDevBanner(t *testing.T) {
	const tok = "carnot_x"
	run := "carnot run --gpus 2 --replicas 2 -- sh -c 'echo rank $RANK of $WORLD_SIZE on GPUs $CUDA_VISIBLE_DEVICES'"
	t.Run("defaults", func(t *testing.T) {
		var b strings.Builder
		devBanner(&b, devInfo{url: "https://127.0.0.1:7460", adminURL: "https://127.0.0.1:7461", dataDir: "carnot-dev",
			node: "n1", site: "local", token: tok})
		want := "carnot dev: server on https://127.0.0.1:7460 (operator API https://127.0.0.1:7461), store carnot-dev/carnot.db, node n1 in site local\n" +
			"development token (operator-admin, in carnot-dev/token; the CLI uses it from this directory):\n  carnot_x\n" +
			"try in another shell: " + run + "\n"
		if diff := cmp.Diff(want, b.String()); diff != "" {
			t.Errorf("banner (-want +got):\n%s", diff)
		}
	})
	t.Run("elsewhere", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "my data")
		var b strings.Builder
		devBanner(&b, devInfo{url: "https://127.0.0.1:40001", adminURL: "https://127.0.0.1:40002", dataDir: dir,
			node: "n1", site: "local", token: tok})
		want := "carnot dev: server on https://127.0.0.1:40001 (operator API https://127.0.0.1:40002), store " + dir + "/carnot.db, node n1 in site local\n" +
			"development token (operator-admin, in " + dir + "/token):\n  carnot_x\n" +
			"try in another shell:\n" +
			"  export CARNOT_ADDR=https://127.0.0.1:40001 CARNOT_ADMIN_ADDR=https://127.0.0.1:40002 CARNOT_CA='" + dir + "/tls/ca.crt' CARNOT_TOKEN=$(cat '" + dir + "/token')\n" +
			"  " + run + "\n"
		if diff := cmp.Diff(want, b.String()); diff != "" {
			t.Errorf("banner (-want +got):\n%s", diff)
		}
	})
	t.Run("relative", func(t *testing.T) {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		devBanner(&b, devInfo{url: "https://127.0.0.1:7460", adminURL: "https://127.0.0.1:7461", dataDir: "dd",
			node: "n1", site: "local", token: tok})
		if want := "CARNOT_CA=" + shellJoin([]string{filepath.Join(wd, "dd", "tls", "ca.crt")}); !strings.Contains(b.String(), want) {
			t.Errorf("banner does not give %s with an absolute path:\n%s", want, b.String())
		}
		if strings.Contains(b.String(), "CARNOT_ADDR") {
			t.Errorf("banner sets CARNOT_ADDR for the default address:\n%s", b.String())
		}
	})
}

// With a facility that has no tenant "default", the banner's command names
// one of its tenants: without --tenant the server refuses a job of the
// development token, which is bound to no tenant ("tenant: is required").
func TestDevBannerTenant(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *model.Facility
		want string
	}{
		{"dev facility", server.DevFacility("local", "FR"), "try in another shell: carnot run --gpus 2 "},
		{"no default", &model.Facility{Tenants: []model.Tenant{{Name: "lab-a"}, {Name: "lab-b"}}},
			"try in another shell: carnot run --tenant lab-a --gpus 2 "},
		{"default among others", &model.Facility{Tenants: []model.Tenant{{Name: "lab-a"}, {Name: "default"}}},
			"try in another shell: carnot run --gpus 2 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			devBanner(&b, devInfo{url: "https://127.0.0.1:7460", adminURL: "https://127.0.0.1:7461", dataDir: "carnot-dev",
				node: "n1", site: "local", token: "carnot_x", tenant: devTenant(tc.f)})
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("banner lacks %q:\n%s", tc.want, b.String())
			}
		})
	}
}
