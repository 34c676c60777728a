// Package transport defines the narrow, message-level connection the engine
// runs on: one RSocket frame per message, no length prefix. Adapters live in
// the websocket and tcp subpackages; pipe is an in-memory pair for tests.
package transport

import (
	"errors"
	"time"
)

// Conn carries whole RSocket frames.
//
// ReadFrame is called by one goroutine (the reader); WriteFrame, Flush and
// SetWriteDeadline by one other goroutine (the writer); Close by anyone, any
// number of times.
type Conn interface {
	// ReadFrame returns the next frame. The slice is valid until the next call.
	ReadFrame() ([]byte, error)
	// WriteFrame queues one frame; it may be buffered until Flush.
	WriteFrame(frame []byte) error
	// Flush writes what WriteFrame queued, in as few system calls as possible.
	Flush() error
	// SetWriteDeadline bounds WriteFrame and Flush; zero means none.
	SetWriteDeadline(t time.Time) error
	// Close closes the connection; a pending ReadFrame returns an error.
	Close() error
}

// Errors a transport reports from ReadFrame for input that is not a frame.
var (
	// ErrTextMessage is returned for a WebSocket text message.
	ErrTextMessage = errors.New("transport: text message (RSocket uses binary messages)")
	// ErrFrameTooLarge is returned for a message over the 16 MiB frame limit.
	ErrFrameTooLarge = errors.New("transport: frame larger than 16777215 bytes")
)

// MaxFrame is the largest RSocket frame.
const MaxFrame = 1<<24 - 1
