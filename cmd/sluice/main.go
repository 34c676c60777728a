// Command sluice is the RSocket server, client and benchmark of the sluice project.
//
//	sluice serve [--addr 127.0.0.1:7878] [--tcp HOST:PORT] [--allow-origin ORIGIN ...]
//	sluice bench [flags] [URI]
//	sluice [client flags] URI          (rsocket-cli compatible)
package main

import (
	"fmt"
	"os"
)

var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serveMain(args[1:], os.Stdout, os.Stderr)
		case "bench":
			return benchMain(args[1:], os.Stdout, os.Stderr)
		}
	}
	return clientMain(args, os.Stdin, os.Stdout, os.Stderr)
}

func usageErr(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, "sluice: "+format+"\n", a...)
	return 2
}
