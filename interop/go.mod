module github.com/sluicehq/sluice/interop

go 1.26.0

replace github.com/sluicehq/sluice => ../

require (
	github.com/gorilla/websocket v1.5.3
	github.com/jjeffcaii/reactor-go v0.5.6
	github.com/rsocket/rsocket-go v0.8.16
	github.com/sluicehq/sluice v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.0-20190314233015-f79a8a8ca69d // indirect
	github.com/google/uuid v1.1.2 // indirect
	github.com/panjf2000/ants/v2 v2.5.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/russross/blackfriday/v2 v2.0.1 // indirect
	github.com/shurcooL/sanitized_anchor_name v1.0.0 // indirect
	github.com/urfave/cli/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.7.0 // indirect
)

tool github.com/rsocket/rsocket-go/cmd/rsocket-cli
