package failpoint

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// TestKill runs the test binary again as a child armed with a point: it
// passes points the environment does not name, and dies by SIGKILL at
// the one it names, before the statement after it.
func TestKill(t *testing.T) {
	if os.Getenv("FAILPOINT_TEST_CHILD") == "1" {
		Kill("not.this.one")
		os.Stdout.WriteString("passed the point not named\n")
		Kill("test.point")
		os.Stdout.WriteString("passed the point named\n")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKill$")
	cmd.Env = append(os.Environ(), "FAILPOINT_TEST_CHILD=1", EnvVar+"=test.point")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the child was not killed: %v, output %q", err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the child ended with %v, want killed by SIGKILL", ee)
	}
	if string(out) != "passed the point not named\n" {
		t.Errorf("the child's output %q: want the line before the point named and nothing after", out)
	}
}

// TestInertUnarmed: without the variable, no point does anything.
func TestInertUnarmed(t *testing.T) {
	if armed != "" {
		t.Skipf("%s is set in the test's environment", EnvVar)
	}
	Kill("test.point") // returns
}
