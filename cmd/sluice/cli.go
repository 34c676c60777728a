package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
)

const clientUsage = `usage: sluice [MODE] [OPTIONS] URI        (rsocket-cli compatible client)
       sluice --server [-i DATA]... URI     (answer requests from the inputs)
       sluice serve [--addr HOST:PORT] ...  (the sluice server; sluice serve -h)
       sluice bench [OPTIONS] [URI]         (throughput and latency; sluice bench -h)

URI is ws://HOST:PORT/PATH, wss://HOST:PORT/PATH or tcp://HOST:PORT
(sluice serve listens at ws://127.0.0.1:7878/rsocket).

Modes (one of; default --stream):
      --request              request-response: one request per input element
      --stream               request-stream: one stream per input element
      --channel              request-channel: every input element goes out on one
                             channel (honouring the server's credit), the first
                             inside REQUEST_CHANNEL
      --fnf                  fire-and-forget: one request per input element
      --metadataPush         METADATA_PUSH: the -m/-H/--route metadata if given,
                             else each input element, as the metadata
      --server               listen on URI (ws:// or tcp://) instead: print what
                             arrives, answer from the -i inputs (see README)

Payloads:
  -i, --input DATA           an element: a string, "-" for stdin or @FILE, one
                             element per line; repeatable, in order (default: one
                             empty element)
  -m, --metadata META        request metadata: a string or @FILE (whole file)
  -H, --header 'Name: value' a metadata header; all -H form one JSON object
                             {"Name":"value",...}, as rsocket-cli; repeatable
      --route ROUTE          a routing entry in the request metadata
      --setup DATA           SETUP payload data: a string or @FILE
      --dataFormat FMT       data MIME type in SETUP: json, cbor, binary, text or a
                             MIME type (default json = application/json)
      --metadataFormat FMT   metadata MIME type in SETUP: composite, routing, json,
                             cbor, binary, text or a MIME type (default composite)
      --name NAME            announce a client name in SETUP (composite metadata)

Demand (request-stream and request-channel):
  -r, --requestn N           demand on the wire: the request carries N (clamped to
                             2^31-1) and the stream is cancelled after N elements
      --batch K              grant K at a time: the request carries K and a
                             REQUEST_N(K) follows each K elements printed
                             Without -r and --batch: a window of 256 elements,
                             topped up by 64 each time 64 have been printed.

Connection:
  -T, --transport-header 'Name: value'
                             HTTP header for the WebSocket handshake; repeatable
      --keepalive SECONDS    keepalive interval (default 20; "500ms", "1m" work too)
      --timeout SECONDS      give up after this long (exit 1); default: no limit
      --ops N                repeat the whole interaction N times (default 1)
      --debug                print every frame sent (->) and received (<-) on stderr
  -h, --help                 this help
  -V, --version              the version

Output: each element's data on its own line on stdout. UTF-8 text without control
characters is printed as it is; other UTF-8 text is quoted with escapes ("a\nb");
data that is not UTF-8 is printed as 0x followed by lowercase hex.

Exit status: 0 on completion (or after -r N elements), 1 on an ERROR frame (its
code and message on stderr) or a connection failure, 2 on a usage error,
130 when interrupted.

Examples (against sluice serve):
  sluice --request -i hello --route echo ws://127.0.0.1:7878/rsocket
  sluice --stream -i 100 --route count -r 5 --debug ws://127.0.0.1:7878/rsocket
  seq 3 | sluice --channel -i - --route channel.echo ws://127.0.0.1:7878/rsocket
`

// cliOpts are the client mode's options.
type cliOpts struct {
	mode           string // request, stream, channel, fnf, metadataPush
	modes          []string
	server         bool
	inputs         []string
	metadata       *string
	headers        []string
	tHeaders       []string
	route          string
	setup          *string
	dataFormat     string
	metadataFormat string
	name           string
	requestN       int64
	batch          int64
	keepalive      time.Duration
	timeout        time.Duration
	ops            int64
	debug          bool
	help, version  bool
	uri            string
}

// defaultWindow is the prefetch window of streams and channels without -r or
// --batch: large enough not to stall a fast stream, small enough that a slow
// terminal holds the server back within 256 elements.
const defaultWindow = 256

func parseClientArgs(args []string) (*cliOpts, error) {
	o := &cliOpts{ops: 1}
	mode := func(name string) *opt {
		return &opt{names: []string{"--" + name}, on: func() { o.modes = append(o.modes, name) }}
	}
	var md, setup string
	var mdSet, setupSet bool
	opts := []*opt{
		mode("request"), mode("stream"), mode("channel"), mode("fnf"), mode("metadataPush"),
		boolOpt(&o.server, "--server"),
		listOpt(&o.inputs, "-i", "--input"),
		{names: []string{"-m", "--metadata"}, metavar: "META", set: func(v string) error { md, mdSet = v, true; return nil }},
		listOpt(&o.headers, "-H", "--header"),
		listOpt(&o.tHeaders, "-T", "--transport-header"),
		strOpt(&o.route, "--route"),
		{names: []string{"--setup"}, metavar: "DATA", set: func(v string) error { setup, setupSet = v, true; return nil }},
		strOpt(&o.dataFormat, "--dataFormat"),
		strOpt(&o.metadataFormat, "--metadataFormat"),
		strOpt(&o.name, "--name"),
		intOpt(&o.requestN, 1, "-r", "--requestn"),
		intOpt(&o.batch, 1, "--batch"),
		durOpt(&o.keepalive, "--keepalive"),
		durOpt(&o.timeout, "--timeout"),
		intOpt(&o.ops, 1, "--ops"),
		boolOpt(&o.debug, "--debug"),
		boolOpt(&o.help, "-h", "--help"),
		boolOpt(&o.version, "-V", "--version"),
	}
	pos, err := parseArgs(opts, args)
	if err != nil {
		return nil, err
	}
	if mdSet {
		o.metadata = &md
	}
	if setupSet {
		o.setup = &setup
	}
	if o.help || o.version {
		return o, nil
	}
	o.mode = "stream"
	for _, m := range o.modes {
		if m != o.modes[0] {
			return nil, usagef("choose one of --request, --stream, --channel, --fnf, --metadataPush (got --%s and --%s)", o.modes[0], m)
		}
		o.mode = m
	}
	switch len(pos) {
	case 0:
		return nil, usagef("missing URI (ws://HOST:PORT/PATH, wss://... or tcp://HOST:PORT)")
	case 1:
		o.uri = pos[0]
	default:
		return nil, usagef("one URI expected, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	}
	if o.batch > protocol.MaxN {
		o.batch = protocol.MaxN
	}
	// -r and --batch mean nothing to the other modes; like rsocket-cli, they
	// are ignored there.
	if o.mode != "stream" && o.mode != "channel" || o.server {
		o.requestN, o.batch = 0, 0
	}
	return o, nil
}

// mimeOf maps rsocket-cli's short format names to MIME types.
func mimeOf(format string, metadataSide bool) (string, error) {
	switch strings.ToLower(format) {
	case "json":
		return "application/json", nil
	case "cbor":
		return "application/cbor", nil
	case "binary", "octet-stream":
		return "application/octet-stream", nil
	case "text", "plain":
		return "text/plain", nil
	case "composite":
		return metadata.MIMEComposite, nil
	case "routing":
		return metadata.MIMERouting, nil
	}
	if !strings.Contains(format, "/") {
		what := "--dataFormat"
		if metadataSide {
			what = "--metadataFormat"
		}
		return "", usagef("%s %q: want json, cbor, binary, text, composite, routing or a MIME type", what, format)
	}
	if len(format) > protocol.MaxMIMELen {
		return "", usagef("MIME type longer than %d bytes", protocol.MaxMIMELen)
	}
	for i := 0; i < len(format); i++ {
		if format[i] <= ' ' || format[i] >= 0x7f {
			return "", usagef("MIME type %q: only printable ASCII allowed", format)
		}
	}
	return format, nil
}

// parseHeader splits "Name: value".
func parseHeader(h, flag string) (string, string, error) {
	name, value, ok := strings.Cut(h, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", usagef("%s %q: want 'Name: value'", flag, h)
	}
	return name, strings.TrimSpace(value), nil
}

// headersJSON is -H as rsocket-cli sends it: one JSON object, in order, a
// repeated name keeping its last value.
func headersJSON(hs []string) ([]byte, error) {
	var names []string
	values := map[string]string{}
	for _, h := range hs {
		n, v, err := parseHeader(h, "-H")
		if err != nil {
			return nil, err
		}
		if _, dup := values[n]; !dup {
			names = append(names, n)
		}
		values[n] = v
	}
	out := []byte{'{'}
	for i, n := range names {
		if i > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(n)
		v, _ := json.Marshal(values[n])
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}'), nil
}

// requestMetadata is the metadata of the requests.
type requestMetadata struct {
	mime  string // announced in SETUP
	first []byte // of each request (and the first element of a channel); nil = none
	rest  []byte // of later channel elements (the user's metadata without the route)
}

// buildMetadata applies --metadataFormat, --route, -m and -H:
//   - composite (the default): the route as a routing entry, -H as an
//     application/json entry, -m as an entry typed application/json when it is
//     JSON, text/plain when it is other UTF-8 text, application/octet-stream
//     otherwise;
//   - routing: the route is the whole metadata (-m and -H are not allowed);
//   - any other type: -m or -H as they are (not both; no --route).
func buildMetadata(o *cliOpts) (requestMetadata, error) {
	var rm requestMetadata
	rm.mime = metadata.MIMEComposite
	if o.metadataFormat != "" {
		m, err := mimeOf(o.metadataFormat, true)
		if err != nil {
			return rm, err
		}
		rm.mime = m
	}
	if o.route != "" {
		if err := metadata.CheckTag(o.route); err != nil {
			return rm, usagef("--route %q: %v", o.route, err)
		}
	}
	var user, hdr []byte
	if o.metadata != nil {
		b, err := readArg(*o.metadata)
		if err != nil {
			return rm, usagef("-m %s: %v", *o.metadata, unwrapPath(err))
		}
		user = b
	}
	if len(o.headers) > 0 {
		b, err := headersJSON(o.headers)
		if err != nil {
			return rm, err
		}
		hdr = b
	}
	switch rm.mime {
	case metadata.MIMEComposite:
		var entries []byte
		if hdr != nil {
			entries = metadata.AppendComposite(entries, "application/json", hdr)
		}
		if user != nil {
			if len(user) > metadata.MaxContentLen {
				return rm, usagef("-m: metadata larger than %d bytes", metadata.MaxContentLen)
			}
			t := "application/octet-stream"
			switch {
			case json.Valid(user):
				t = "application/json"
			case utf8.Valid(user):
				t = "text/plain"
			}
			entries = metadata.AppendComposite(entries, t, user)
		}
		rm.rest = entries
		if o.route != "" {
			rm.first = metadata.AppendCompositeRoute(nil, o.route)
			rm.first = append(rm.first, entries...)
		} else {
			rm.first = entries
		}
	case metadata.MIMERouting:
		if user != nil || hdr != nil {
			return rm, usagef("with --metadataFormat routing the metadata is the route: use --route, not -m or -H")
		}
		if o.route != "" {
			rm.first = metadata.AppendRouting(nil, o.route)
		}
	default:
		if o.route != "" {
			return rm, usagef("--route needs composite or routing metadata (--metadataFormat %s given)", o.metadataFormat)
		}
		if user != nil && hdr != nil {
			return rm, usagef("-m and -H together need composite metadata (--metadataFormat %s given)", o.metadataFormat)
		}
		rm.first = user
		if hdr != nil {
			rm.first = hdr
		}
		rm.rest = rm.first
	}
	return rm, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// errInterrupted is the cause of the context when SIGINT or SIGTERM arrives.
var errInterrupted = errors.New("interrupted")

// clientMain is the rsocket-cli compatible client mode.
func clientMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseClientArgs(args)
	if err != nil {
		return usageError(stderr, err)
	}
	if o.help {
		fmt.Fprint(stdout, clientUsage)
		return 0
	}
	if o.version {
		fmt.Fprintf(stdout, "sluice %s\n", version)
		return 0
	}
	r, err := newRun(o, stdin, stdout, stderr)
	if err != nil {
		return usageError(stderr, err)
	}

	ctx, stop := signalContext()
	defer stop()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, errTimeout)
		defer cancel()
	}
	if o.server {
		return r.serve(ctx)
	}
	return r.client(ctx)
}

func usageError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "sluice: %s\n", oneLine(err.Error()))
	fmt.Fprintln(stderr, "usage: sluice [--request|--stream|--channel|--fnf|--metadataPush] [-i DATA]... [OPTIONS] URI (sluice --help)")
	return 2
}

// signalContext ends on SIGINT or SIGTERM with errInterrupted as the cause.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			cancel(errInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel(nil)
	}
}

// cliRun is one invocation of the client (or --server) mode.
type cliRun struct {
	o      *cliOpts
	md     requestMetadata
	header http.Header
	setup  sluice.Payload
	dMIME  string
	stdin  *stdinLines
	stdout io.Writer
	stderr io.Writer
	out    *printer
	c      *client.Client
}

func newRun(o *cliOpts, stdin io.Reader, stdout, stderr io.Writer) (*cliRun, error) {
	r := &cliRun{o: o, stdin: newStdin(stdin), stdout: stdout, stderr: stderr}
	u, err := checkURI(o.uri)
	if err != nil {
		return nil, err
	}
	if r.md, err = buildMetadata(o); err != nil {
		return nil, err
	}
	r.dMIME = "application/json"
	if o.dataFormat != "" {
		if r.dMIME, err = mimeOf(o.dataFormat, false); err != nil {
			return nil, err
		}
	}
	if len(o.tHeaders) > 0 {
		if strings.EqualFold(u.Scheme, "tcp") {
			return nil, usagef("-T/--transport-header needs a ws:// or wss:// URI")
		}
		r.header = http.Header{}
		for _, h := range o.tHeaders {
			n, v, err := parseHeader(h, "-T")
			if err != nil {
				return nil, err
			}
			r.header.Add(n, v)
		}
	}
	if o.setup != nil {
		b, err := readArg(*o.setup)
		if err != nil {
			return nil, usagef("--setup %s: %v", *o.setup, unwrapPath(err))
		}
		r.setup.Data = b
	}
	for _, in := range o.inputs {
		if strings.HasPrefix(in, "@") {
			f, err := os.Open(in[1:])
			if err != nil {
				return nil, usagef("-i %s: %v", in, unwrapPath(err))
			}
			f.Close()
		}
	}
	if o.server {
		if !strings.EqualFold(u.Scheme, "ws") && !strings.EqualFold(u.Scheme, "tcp") {
			return nil, usagef("--server listens on ws:// or tcp:// URIs")
		}
	}
	return r, nil
}

func (r *cliRun) fail(ctx context.Context, err error) int {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errInterrupted):
		fmt.Fprintln(r.stderr, "sluice: interrupted")
		return 130
	case errors.Is(cause, errTimeout):
		fmt.Fprintf(r.stderr, "sluice: timed out after %v\n", r.o.timeout)
		return 1
	}
	fmt.Fprintf(r.stderr, "sluice: %s\n", describeErr(err))
	return 1
}

// client connects, runs the interaction --ops times and closes.
func (r *cliRun) client(ctx context.Context) int {
	u, _ := checkURI(r.o.uri)
	t, err := dialTransport(ctx, u, r.header)
	if err != nil {
		if errors.Is(context.Cause(ctx), errInterrupted) {
			return r.fail(ctx, err)
		}
		fmt.Fprintf(r.stderr, "sluice: %s\n", oneLine(err.Error()))
		return 1
	}
	opts := []client.Option{
		client.WithDataMIME(r.dMIME),
		client.WithMetadataMIME(r.md.mime),
		client.WithSetup(r.setup),
		client.WithLogger(discardLogger()),
	}
	if r.o.keepalive > 0 {
		opts = append(opts, client.WithKeepalive(r.o.keepalive, max(90*time.Second, 3*r.o.keepalive)))
	}
	if r.o.name != "" {
		opts = append(opts, client.WithName(r.o.name))
	}
	if r.o.debug {
		opts = append(opts, client.WithFrameHook(newFrameLogger(r.stderr, r.md.mime).hook))
	}
	c, err := client.New(t, opts...)
	if err != nil {
		t.Close()
		fmt.Fprintf(r.stderr, "sluice: cannot connect to %s: %s\n", u.Redacted(), describeNetErr(ctx, err))
		return 1
	}
	r.c = c
	r.out = newPrinter(r.stdout)

	if r.o.ops > 1 && hasStdin(r.o.inputs) {
		if err := r.stdin.readAll(); err != nil {
			err = fmt.Errorf("reading stdin: %v", err)
		}
	}
	for i := int64(0); i < r.o.ops && err == nil; i++ {
		err = r.once(ctx)
	}
	c.Close() // flushes what is still queued (a fire-and-forget, the CANCEL after -r N)
	if perr := r.out.close(); perr != nil && err == nil {
		err = errOutput{perr}
	}
	if err != nil {
		return r.fail(ctx, err)
	}
	return 0
}

func hasStdin(specs []string) bool {
	for _, s := range specs {
		if s == "-" {
			return true
		}
	}
	return false
}

// errOutput is a failure to write stdout.
type errOutput struct{ err error }

func (e errOutput) Error() string { return "writing the output: " + e.err.Error() }

// once runs the interaction once over all input elements.
func (r *cliRun) once(ctx context.Context) error {
	in := newInputReader(r.o.inputs, r.stdin)
	if r.o.mode == "channel" {
		return r.channel(ctx, in) // the sending goroutine owns in
	}
	defer in.close()
	for {
		data, ok, err := in.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		p := sluice.Payload{Data: data, Metadata: r.md.first}
		switch r.o.mode {
		case "request":
			resp, err := r.c.RequestResponse(ctx, p)
			if err != nil {
				return err
			}
			if err := r.out.element(resp.Data); err != nil {
				return errOutput{err}
			}
		case "fnf":
			if err := r.c.FireAndForget(ctx, p); err != nil {
				return err
			}
		case "metadataPush":
			md := r.md.first
			if md == nil {
				md = data
			}
			if err := r.c.MetadataPush(ctx, md); err != nil {
				return err
			}
		case "stream":
			s, err := r.c.RequestStream(ctx, p, r.policy())
			if err != nil {
				return err
			}
			if err := r.consume(ctx, s); err != nil {
				return err
			}
		}
	}
}

// policy is the credit policy of streams and channels: manual when -r or
// --batch is given (consume grants), else the default window.
func (r *cliRun) policy() client.CallOption {
	if r.o.requestN > 0 || r.o.batch > 0 {
		return client.Manual()
	}
	return client.Prefetch(defaultWindow)
}

// consume prints the elements of s. With -r N the first grant (carried by the
// request itself) is N, or K with --batch K, topped up by K each time the
// granted elements have been printed; after N elements the stream is cancelled.
func (r *cliRun) consume(ctx context.Context, s sluice.Stream) error {
	limit, batch := r.o.requestN, r.o.batch
	var granted, got int64
	grant := func(n int64) {
		n = min(n, protocol.MaxN)
		s.Request(n)
		granted += n
	}
	switch {
	case batch > 0 && limit > 0:
		grant(min(batch, limit))
	case batch > 0:
		grant(batch)
	case limit > 0:
		grant(limit)
	}
	for {
		p, err := s.Recv(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			s.Cancel()
			return err
		}
		if err := r.out.element(p.Data); err != nil {
			s.Cancel()
			return errOutput{err}
		}
		got++
		if limit > 0 && got >= limit {
			s.Cancel()
			return nil
		}
		if batch > 0 && got == granted {
			next := batch
			if limit > 0 {
				next = min(batch, limit-got)
			}
			grant(next)
		}
	}
}

// channel sends every input element on one channel while printing what comes
// back; it ends when the inbound side completes (or after -r N elements).
func (r *cliRun) channel(ctx context.Context, in *inputReader) error {
	first, ok, err := in.next()
	if err != nil {
		in.close()
		return err
	}
	if !ok {
		first = []byte{} // empty stdin: a channel still needs its first element
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := r.c.RequestChannel(ctx, sluice.Payload{Data: first, Metadata: r.md.first}, r.policy())
	if err != nil {
		in.close()
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		sendErr <- r.sendRest(ctx, ch, in, ok)
	}()
	err = r.consume(ctx, ch)
	if err == nil {
		// The inbound side is done; an input failure still counts.
		select {
		case e := <-sendErr:
			if e != nil && !errors.Is(e, sluice.ErrCanceled) && !errors.Is(e, sluice.ErrClosed) && !errors.Is(e, context.Canceled) {
				err = e
			}
		default:
			// Still reading input (a terminal, say): nothing more is wanted.
		}
	}
	return err
}

// sendRest sends the remaining input elements, then completes the outbound half.
func (r *cliRun) sendRest(ctx context.Context, ch sluice.Channel, in *inputReader, more bool) error {
	defer in.close()
	for more {
		data, ok, err := in.next()
		if err != nil {
			ch.CloseSend()
			return err
		}
		if !ok {
			break
		}
		if err := ch.Send(ctx, sluice.Payload{Data: data, Metadata: r.md.rest}); err != nil {
			return err
		}
	}
	return ch.CloseSend()
}
