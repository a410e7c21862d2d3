// Command bitflow runs declarative workflows of content-hashed steps; see
// `bitflow --help` and README.md.
package main

import (
	"os"

	"github.com/bitflow-dev/bitflow/runner/cli"
)

func main() {
	os.Exit(cli.Run())
}
