package tck

import (
	"context"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice"
)

// MarbleError is the message of the ERROR a "#" in a marble sends.
const MarbleError = "tck: marble error"

// Server serves the handlers of a server script with sluice. A request is
// matched to the handler of its interaction whose data and metadata are equal
// to the request's; an unknown request gets APPLICATION_ERROR.
//
// Marbles: "-" does nothing, "|" completes, "#" fails with APPLICATION_ERROR,
// any other character is one element. A stream's emitter sends each element
// with Sink.Send, which waits for the requester's credit. For request-response
// the first element is the response ("|" first answers an empty payload); a
// marble that ends without a terminal never answers (until cancelled).
type Server struct {
	handlers []Handler

	mu  sync.Mutex
	fnf []Element // fire-and-forget requests received
}

// NewServer returns a server for the handlers of a server script.
func NewServer(hs []Handler) *Server { return &Server{handlers: hs} }

func (s *Server) find(kind string, p sluice.Payload) (Handler, bool) {
	for _, h := range s.handlers {
		if h.Kind == kind && h.Data == string(p.Data) && h.Metadata == string(p.Metadata) {
			return h, true
		}
	}
	return Handler{}, false
}

func unknown(kind string, p sluice.Payload) error {
	return &sluice.Error{Code: sluice.CodeApplicationError,
		Message: fmt.Sprintf("tck: no %s handler for data %q metadata %q", kind, p.Data, p.Metadata)}
}

func marbleErr() error { return &sluice.Error{Code: sluice.CodeApplicationError, Message: MarbleError} }

func payloadOf(e Element) sluice.Payload {
	return sluice.Payload{Data: []byte(e.Data), Metadata: []byte(e.Metadata)}
}

// FireAndForgets returns the fire-and-forget requests received so far.
func (s *Server) FireAndForgets() []Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Element(nil), s.fnf...)
}

// Handlers returns the sluice handlers (one set serves every connection).
func (s *Server) Handlers() *sluice.Handlers {
	return &sluice.Handlers{
		RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
			h, ok := s.find("rr", p)
			if !ok {
				return sluice.Payload{}, unknown("rr", p)
			}
			for _, c := range h.Marble {
				switch c {
				case '-':
				case '|':
					return sluice.Payload{Data: []byte{}}, nil
				case '#':
					return sluice.Payload{}, marbleErr()
				default:
					return payloadOf(h.Element(c)), nil
				}
			}
			<-ctx.Done()
			return sluice.Payload{}, ctx.Err()
		},
		RequestStream: func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
			h, ok := s.find("rs", p)
			if !ok {
				return unknown("rs", p)
			}
			for _, c := range h.Marble {
				switch c {
				case '-':
				case '|':
					return nil
				case '#':
					return marbleErr()
				default:
					if err := out.Send(ctx, payloadOf(h.Element(c))); err != nil {
						return err
					}
				}
			}
			<-ctx.Done()
			return ctx.Err()
		},
		FireAndForget: func(ctx context.Context, p sluice.Payload) {
			s.mu.Lock()
			s.fnf = append(s.fnf, Element{Data: string(p.Data), Metadata: string(p.Metadata)})
			s.mu.Unlock()
		},
	}
}
