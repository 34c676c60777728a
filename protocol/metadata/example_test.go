package metadata_test

import (
	"fmt"

	"github.com/sluicehq/sluice/protocol/metadata"
)

// A requester builds composite metadata with a route and a bearer token.
func ExampleAppendCompositeRoute() {
	md := metadata.AppendCompositeRoute(nil, "/echo")
	md = metadata.AppendComposite(md, metadata.MIMEAuth, metadata.AppendBearerAuth(nil, "tok"))
	fmt.Printf("%x\n", md)
	// Output: fe000006052f6563686ffc00000481746f6b
}

// A responder reads the route with the metadata MIME the client declared in SETUP.
func ExampleRouteOf() {
	md := metadata.AppendCompositeRoute(nil, "/echo")
	route, ok := metadata.RouteOf(md, metadata.MIMEComposite)
	fmt.Println(route, ok)

	route, ok = metadata.RouteOf(metadata.AppendRouting(nil, "/echo"), metadata.MIMERouting)
	fmt.Println(route, ok)
	// Output:
	// /echo true
	// /echo true
}

func ExampleComposite() {
	md := metadata.AppendCompositeRoute(nil, "/echo")
	md = metadata.AppendComposite(md, "application/x.custom", []byte("v"))
	for e, err := range metadata.Composite(md) {
		if err != nil {
			fmt.Println("malformed:", err)
			break
		}
		fmt.Printf("%s id=%d content=%q\n", e.MIME, e.ID, e.Content)
	}
	// Output:
	// message/x.rsocket.routing.v0 id=126 content="\x05/echo"
	// application/x.custom id=-1 content="v"
}

func ExampleParseAuth() {
	md := metadata.AppendComposite(nil, metadata.MIMEAuth, metadata.AppendSimpleAuth(nil, "user", "pass"))
	content, _ := metadata.Find(md, metadata.MIMEAuth)
	a, err := metadata.ParseAuth(content)
	if err != nil {
		panic(err)
	}
	user, password, err := a.Simple()
	fmt.Println(a.Type, user, password, err)
	// Output: simple user pass <nil>
}
