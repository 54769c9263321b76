// Command carnot is the control plane for sovereign AI data centers.
package main

import (
	"os"

	"github.com/carnot-dc/carnot/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
