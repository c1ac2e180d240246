package services_test

import (
	"os"
	"testing"

	"github.com/concord-health/concord/store/storetest"
)

// TestMain runs the services tests against the real store (the embedded
// server, or MONGODB_URI) and stops it afterwards.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
