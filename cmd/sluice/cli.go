package main

import (
	"fmt"
	"io"
)

// clientMain is the rsocket-cli compatible client mode.
func clientMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sluice: client mode is not built yet; try: sluice serve")
	return 2
}
