// Package router dispatches requests by the route in their routing metadata
// (message/x.rsocket.routing.v0, on its own or inside composite metadata).
// It serves both sides: a server's handlers, or a client's when the server
// makes requests of it.
package router

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol/metadata"
)

// Router maps routes to handlers. Register everything before the first
// connection uses it; after that it is read-only and safe for concurrent use.
type Router struct {
	rr      map[string]func(context.Context, sluice.Payload) (sluice.Payload, error)
	fnf     map[string]func(context.Context, sluice.Payload)
	stream  map[string]func(context.Context, sluice.Payload, sluice.Sink) error
	channel map[string]func(context.Context, sluice.Payload, sluice.Stream, sluice.Sink) error
	push    func(context.Context, []byte)
}

// New returns an empty router.
func New() *Router {
	return &Router{
		rr:      map[string]func(context.Context, sluice.Payload) (sluice.Payload, error){},
		fnf:     map[string]func(context.Context, sluice.Payload){},
		stream:  map[string]func(context.Context, sluice.Payload, sluice.Sink) error{},
		channel: map[string]func(context.Context, sluice.Payload, sluice.Stream, sluice.Sink) error{},
	}
}

// Response registers a request-response handler.
func (r *Router) Response(route string, h func(ctx context.Context, p sluice.Payload) (sluice.Payload, error)) {
	r.rr[route] = h
}

// FireAndForget registers a fire-and-forget handler.
func (r *Router) FireAndForget(route string, h func(ctx context.Context, p sluice.Payload)) {
	r.fnf[route] = h
}

// Stream registers a request-stream handler. out.Send blocks on the requester's credit.
func (r *Router) Stream(route string, h func(ctx context.Context, p sluice.Payload, out sluice.Sink) error) {
	r.stream[route] = h
}

// Channel registers a request-channel handler; p is the first inbound element.
func (r *Router) Channel(route string, h func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error) {
	r.channel[route] = h
}

// MetadataPush registers the METADATA_PUSH handler.
func (r *Router) MetadataPush(h func(ctx context.Context, md []byte)) { r.push = h }

type ctxKey struct{}

// Route returns the route of the request a handler is serving.
func Route(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}

func notFound(route string) error {
	if route == "" {
		return &sluice.Error{Code: sluice.CodeApplicationError, Message: "no route in the request metadata"}
	}
	return &sluice.Error{Code: sluice.CodeApplicationError, Message: fmt.Sprintf("no handler for route %q", route)}
}

// Handlers returns the handlers for a connection whose SETUP declared
// metadataMIME (routes are read from composite or routing metadata).
func (r *Router) Handlers(metadataMIME string) *sluice.Handlers {
	route := func(ctx context.Context, p sluice.Payload) (context.Context, string) {
		rt, _ := metadata.RouteOf(p.Metadata, metadataMIME)
		return context.WithValue(ctx, ctxKey{}, rt), rt
	}
	return &sluice.Handlers{
		RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
			ctx, rt := route(ctx, p)
			h := r.rr[rt]
			if h == nil {
				return sluice.Payload{}, notFound(rt)
			}
			return h(ctx, p)
		},
		FireAndForget: func(ctx context.Context, p sluice.Payload) {
			ctx, rt := route(ctx, p)
			if h := r.fnf[rt]; h != nil {
				h(ctx, p)
			}
		},
		RequestStream: func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
			ctx, rt := route(ctx, p)
			session.SetRoute(out, rt)
			h := r.stream[rt]
			if h == nil {
				return notFound(rt)
			}
			return h(ctx, p, out)
		},
		RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
			ctx, rt := route(ctx, p)
			session.SetRoute(out, rt)
			h := r.channel[rt]
			if h == nil {
				return notFound(rt)
			}
			return h(ctx, p, in, out)
		},
		MetadataPush: func(ctx context.Context, md []byte) {
			if r.push != nil {
				r.push(ctx, md)
			}
		},
	}
}
