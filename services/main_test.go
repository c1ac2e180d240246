package services_test

import (
	"os"
	"testing"

	"github.com/concord-health/concord/store/storetest"
)

// TestMain runs the services tests against a real store (the backend
// CONCORD_TEST_STORE names) and stops the MongoDB stand-in afterwards.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
