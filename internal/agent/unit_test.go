package agent

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "HOME=/root", "RANK=9"}, map[string]string{"RANK": "0", "WORLD_SIZE": "2"})
	want := []string{"PATH=/bin", "HOME=/root", "RANK=0", "WORLD_SIZE=2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mergeEnv (-want +got):\n%s", diff)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"j-1.a_b": "j-1.a_b", "../x": ".._x", "..": "___", ".": "__", "": "_", "a/b c": "a_b_c",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMemTotalGiB(t *testing.T) {
	got, err := memTotalGiB(strings.NewReader("MemFree: 1 kB\nMemTotal:       24684096 kB\n"))
	if err != nil || got != 23 {
		t.Errorf("memTotalGiB = %d, %v; want 23", got, err)
	}
	for _, bad := range []string{"", "MemTotal: 12 MB\n", "MemTotal: x kB\n"} {
		if _, err := memTotalGiB(strings.NewReader(bad)); err == nil {
			t.Errorf("memTotalGiB(%q) succeeded", bad)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "mytool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := lookPath("mytool", []string{"PATH=.:" + dir}); err != nil || got != exe {
		t.Errorf("lookPath in the task's PATH = %q, %v", got, err)
	}
	if _, err := lookPath("mytool", []string{"PATH=/nonexistent"}); !isNotFoundErr(err) {
		t.Errorf("lookPath outside PATH = %v, want not found", err)
	}
	if got, _ := lookPath("./x", nil); got != "./x" {
		t.Errorf("lookPath(./x) = %q", got)
	}
}

func TestAdvertiseURL(t *testing.T) {
	host, _ := os.Hostname()
	for addr, want := range map[string]string{
		"127.0.0.1:80": "http://127.0.0.1:80",
		"0.0.0.0:80":   "http://" + net.JoinHostPort(host, "80"),
		"[::]:80":      "http://" + net.JoinHostPort(host, "80"),
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := advertiseURL(tcp, false); got != want {
			t.Errorf("advertiseURL(%s) = %q, want %q", addr, got, want)
		}
		if got, want := advertiseURL(tcp, true), "https://"+strings.TrimPrefix(want, "http://"); got != want {
			t.Errorf("advertiseURL(%s, TLS) = %q, want %q", addr, got, want)
		}
	}
}
