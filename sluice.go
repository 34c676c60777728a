// Package sluice holds the public types shared by the client and the server:
// payloads, errors with their RSocket codes, and the handler interfaces.
//
// sluice is RSocket (protocol 1.0) over WebSocket and TCP where demand is counted
// in elements and crosses the network: a stream handler's Send blocks until the
// requester has granted credit, and the requester grants credit as its
// application takes elements. See the server and client packages.
package sluice

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/sluicehq/sluice/protocol"
)

// Payload is one element: data and optional metadata. Metadata is nil when absent
// and non-nil (possibly empty) when present; the difference crosses the wire.
//
// Payloads handed to an application are owned by it. Payloads handed to sluice
// must not be modified until the call that took them returns.
type Payload struct {
	Data     []byte
	Metadata []byte
}

// Text returns a payload with the given data string and no metadata.
func Text(s string) Payload { return Payload{Data: []byte(s)} }

// Size is the number of data and metadata bytes.
func (p Payload) Size() int { return len(p.Data) + len(p.Metadata) }

// ErrorCode is an RSocket error code.
type ErrorCode = protocol.ErrorCode

// Error codes.
const (
	CodeInvalidSetup     = protocol.ErrInvalidSetup
	CodeUnsupportedSetup = protocol.ErrUnsupportedSetup
	CodeRejectedSetup    = protocol.ErrRejectedSetup
	CodeRejectedResume   = protocol.ErrRejectedResume
	CodeConnectionError  = protocol.ErrConnectionError
	CodeConnectionClose  = protocol.ErrConnectionClose
	CodeApplicationError = protocol.ErrApplicationError
	CodeRejected         = protocol.ErrRejected
	CodeCanceled         = protocol.ErrCanceled
	CodeInvalid          = protocol.ErrInvalid
)

// Error is an RSocket ERROR, received from the peer or to be sent to it.
// A handler that returns an *Error sends that code; any other error is sent
// as APPLICATION_ERROR with the error's text.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("rsocket error %v: %s", e.Code, e.Message) }

// Is makes errors.Is(err, &sluice.Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf returns an *Error with an APPLICATION_ERROR code.
func Errorf(format string, args ...any) error {
	return &Error{Code: CodeApplicationError, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the RSocket code of err: the code of an *Error, CANCELED for
// ErrCanceled and context errors, APPLICATION_ERROR otherwise.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrCanceled) || errors.Is(err, context.Canceled) {
		return CodeCanceled
	}
	return CodeApplicationError
}

var (
	// ErrCanceled is returned by Send and Recv once the stream was cancelled,
	// by the peer or locally.
	ErrCanceled = errors.New("sluice: stream canceled")
	// ErrClosed is returned once the connection is closed.
	ErrClosed = errors.New("sluice: connection closed")
	// ErrOverCredit is the error of a stream whose peer sent more elements than granted.
	ErrOverCredit = errors.New("sluice: peer sent more elements than it was granted")
	// ErrTooLarge is returned for an element larger than the reassembly limit.
	ErrTooLarge = errors.New("sluice: element larger than the limit")
)

// Sink is the sending half of a stream. Send blocks until the peer has granted
// credit for one more element (and the connection's outbound byte budget has
// room), then queues p; it returns ErrCanceled once the stream is cancelled and
// ctx.Err() when ctx ends. A Sink is used by one goroutine at a time.
type Sink interface {
	Send(ctx context.Context, p Payload) error
	// Wait blocks until one Send would not block on credit: a pull-style
	// producer calls Wait, then makes the element, then Sends it.
	Wait(ctx context.Context) error
}

// Stream is the receiving half of a stream. Elements are taken with Recv or
// ranged over with All; credit is granted to the peer as they are taken (see the
// client's Prefetch and Manual policies). Recv returns io.EOF on completion.
type Stream interface {
	Recv(ctx context.Context) (Payload, error)
	// All ranges over the elements until completion (no error) or failure (one
	// final error). Breaking out of the loop cancels the stream.
	All(ctx context.Context) iter.Seq2[Payload, error]
	// Request grants n more elements (manual policy; additive, saturating).
	Request(n int64)
	// Cancel stops the stream; CANCEL is sent if it is still open.
	Cancel()
}

// Channel is a request-channel seen from either end: a Stream for what arrives
// and a Sink for what goes out. CloseSend completes the outbound half.
type Channel interface {
	Stream
	Sink
	CloseSend() error
}

// Handlers are the responder side of a connection. A nil field rejects that
// interaction with ERROR[REJECTED] (routers answer APPLICATION_ERROR for an
// unknown route). RequestResponse, RequestStream and RequestChannel run on a
// goroutine of their own; ctx ends when the stream is cancelled or the
// connection closes. FireAndForget and MetadataPush run on the connection's
// reader, in order with what follows them, and must not block: hand long work
// to another goroutine.
type Handlers struct {
	// RequestResponse answers one request; a returned error becomes an ERROR frame.
	RequestResponse func(ctx context.Context, p Payload) (Payload, error)
	// FireAndForget receives a request that gets no answer. It must not block.
	FireAndForget func(ctx context.Context, p Payload)
	// RequestStream emits elements with out.Send and completes by returning nil.
	RequestStream func(ctx context.Context, p Payload, out Sink) error
	// RequestChannel receives the first element in p and the rest from in;
	// it completes its outbound half by returning nil.
	RequestChannel func(ctx context.Context, p Payload, in Stream, out Sink) error
	// MetadataPush receives METADATA_PUSH metadata, valid only during the call.
	// It must not block.
	MetadataPush func(ctx context.Context, metadata []byte)
}
