package reactor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// reactor-go's default scheduler keeps an ants worker pool with a purge
// goroutine for the life of the process; everything else must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*Pool).purgePeriodically"))
}
