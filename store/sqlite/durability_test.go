package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/sqlite"
)

// liteWriterDirEnv names the data directory TestLiteWriterProcess writes
// to; when it is unset that test is skipped.
const liteWriterDirEnv = "CONCORD_LITE_WRITER_DIR"

// liteWriterPatient owns the readings the writer process inserts.
const liteWriterPatient = "patient-killed-writer"

// liteKillAfter is how many acknowledged inserts the parent waits for
// before it kills the writer.
const liteKillAfter = 300

// TestLiteWriterProcess is the child process of TestDurableAfterKill, not
// a test of its own: it inserts fixture readings 0, 1, 2, ... one at a time
// into the store in $CONCORD_LITE_WRITER_DIR and, each time Insert has
// returned, prints the reading's id on its own line, until it is killed.
func TestLiteWriterProcess(t *testing.T) {
	dir := os.Getenv(liteWriterDirEnv)
	if dir == "" {
		t.Skip("runs only as the writer process of TestDurableAfterKill")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Far more than the parent waits for: the parent kills the process
	// long before, and if the parent is gone the next print fails.
	const most = 1_000_000
	for n := range most {
		r := sqlite.LiteReading(liteWriterPatient, n)
		if err := s.Readings().Insert(ctx, r); err != nil {
			t.Fatalf("insert reading %d: %v", n, err)
		}
		// os.Stdout is unbuffered: the line is in the pipe when this returns.
		if _, err := fmt.Fprintln(os.Stdout, r.ID); err != nil {
			t.Fatalf("acknowledge reading %d: %v", n, err)
		}
	}
	t.Fatalf("inserted %d readings and was never killed", most)
}

// TestDurableAfterKill: every reading whose Insert returned survives the
// writing process being killed with SIGKILL, with exactly the content
// written, and the kill releases the data directory.
func TestDurableAfterKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The deadline only stops a writer that hangs; the test fails then
	// because too few inserts were acknowledged.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLiteWriterProcess$")
	cmd.Env = append(os.Environ(), liteWriterDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the writer: %v", err)
	}

	out := bufio.NewReader(stdout)
	var acked []string
	var other strings.Builder // anything else the child printed, for a failure
	readAck := func() bool {
		line, err := out.ReadString('\n')
		if err != nil { // EOF, and a line cut short by the kill, end the acks
			return false
		}
		if id := strings.TrimSuffix(line, "\n"); id == sqlite.LiteReadingID(len(acked)) {
			acked = append(acked, id)
		} else {
			other.WriteString(line)
		}
		return true
	}
	for len(acked) < liteKillAfter && readAck() {
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill the writer: %v", err)
	}
	// Lines already in the pipe are acknowledged inserts too.
	for readAck() {
	}
	waitErr := cmd.Wait()
	if len(acked) < liteKillAfter {
		t.Fatalf("the writer acknowledged %d inserts, want at least %d before the kill (wait: %v)\nstdout:\n%s\nstderr:\n%s",
			len(acked), liteKillAfter, waitErr, other.String(), stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the writer ended with %v, want killed by SIGKILL\nstderr:\n%s", cmd.ProcessState, stderr.String())
	}

	s, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dir, StrictPlans: true})
	if errors.Is(err, sqlite.ErrDataDirLocked) {
		t.Fatalf("the killed writer's lock on the data directory was not released: %v", err)
	}
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	bg := context.Background()
	for n, id := range acked {
		got, err := s.Readings().Lookup(bg, id)
		if err != nil {
			t.Errorf("acknowledged reading %d (%s) after the kill: %v", n, id, err)
			continue
		}
		if diff := cmp.Diff(sqlite.LiteReading(liteWriterPatient, n), got); diff != "" {
			t.Errorf("acknowledged reading %d after the kill (-want +got):\n%s", n, diff)
		}
	}
	// At most one insert can have committed without being acknowledged:
	// the one under way when the kill came.
	count, err := s.Count(bg, store.KindReadings)
	if err != nil {
		t.Fatal(err)
	}
	if count != int64(len(acked)) && count != int64(len(acked))+1 {
		t.Errorf("%d readings stored after %d acknowledged inserts, want %d or %d", count, len(acked), len(acked), len(acked)+1)
	}
}
