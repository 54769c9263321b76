package agent

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// meminfo is where Linux reports the machine's memory.
const meminfo = "/proc/meminfo"

// detect fills the CPU and memory figures cfg leaves to detection.
func detect(cfg *Config) error {
	if cfg.CPUs <= 0 {
		cfg.CPUs = runtime.NumCPU()
	}
	if cfg.MemoryGiB <= 0 {
		f, err := os.Open(meminfo)
		if err != nil {
			return fmt.Errorf("agent: detect memory (set it in the configuration instead): %w", err)
		}
		defer f.Close()
		gib, err := memTotalGiB(f)
		if err != nil {
			return fmt.Errorf("agent: detect memory from %s (set it in the configuration instead): %w", meminfo, err)
		}
		cfg.MemoryGiB = gib
	}
	return nil
}

// memTotalGiB reads MemTotal from /proc/meminfo's text, in whole GiB
// (rounded down: never more than the machine has).
func memTotalGiB(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("MemTotal line %q: want <n> kB", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("MemTotal line %q: bad number", sc.Text())
		}
		return int(kb >> 20), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no MemTotal line")
}

// advertiseURL is the log server's URL for the server to reach: the
// listening address, with a wildcard host replaced by the host name.
func advertiseURL(addr net.Addr, withTLS bool) string {
	scheme := "http://"
	if withTLS {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return scheme + net.JoinHostPort(host, port)
}
