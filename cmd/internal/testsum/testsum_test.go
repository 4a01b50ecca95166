package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The recorded streams are real `go test -json` output (Go 1.26) from a
// throwaway module: mixed.jsonl has a passing, a failing, a skipping and a
// subtest-skipping test, a package that does not build, one whose TestMain
// exits 3 after every test passed, and one without tests; timeout.jsonl has
// a test still running when -timeout ended its package.

func summariseFile(t *testing.T, name string) (string, int) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	code := run(nil, f, &out, &out)
	return out.String(), code
}

func TestSummaryOfMixedResults(t *testing.T) {
	t.Parallel()
	out, code := summariseFile(t, "mixed.jsonl")
	if code == 0 {
		t.Error("exit status 0 for a run with failures")
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "tests: 9 run, 5 passed, 2 failed, 2 skipped; 2 other failures" {
		t.Errorf("last line %q", last)
	}
	for _, want := range []string{
		// The failing test's own output, as it failed, before its package's line.
		"=== FAIL tsdemo/bad TestFails/inner\n=== RUN   TestFails/inner\n    bad_test.go:7: boom\n",
		"    bad_test.go:6: context line\n--- FAIL: TestFails (0.00s)\nFAIL\nFAIL\ttsdemo/bad\t0.006s\n",
		// The compiler's message.
		"broken/broken_test.go:5:28: undefined: undefined\n",
		// Skips by name, with what t.Skip said.
		"skipped: tsdemo/good TestSkip: good_test.go:6: Chromium not installed\n",
		"skipped: tsdemo/good TestSubs/b: good_test.go:9: not here\n",
		// Failures no test accounts for, with the package's own output.
		"leaked goroutines found\nFAIL\ttsdemo/exits\t0.140s\n",
		"FAIL: build failed: tsdemo/broken [tsdemo/broken.test]\n",
		"FAIL: tsdemo/exits failed outside any test",
		// Passing packages get one line.
		"ok  \ttsdemo/good\t0.020s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// A passing test's output is not shown.
	if strings.Contains(out, "quiet") {
		t.Error("a passing test's log is in the output")
	}
}

func TestSummaryOfATestCutShort(t *testing.T) {
	t.Parallel()
	out, code := summariseFile(t, "timeout.jsonl")
	if code == 0 {
		t.Error("exit status 0 for a run that timed out")
	}
	if !strings.Contains(out, "=== FAIL tsdemo/good TestHangs (did not finish)\n=== RUN   TestHangs\n    hang_test.go:8: waiting for the world\npanic: test timed out after 2s\n") {
		t.Errorf("the unfinished test and its panic are not reported:\n%s", out)
	}
	if !strings.HasSuffix(out, "tests: 6 run, 3 passed, 1 failed, 2 skipped\n") {
		t.Errorf("output ends %q", out[max(0, len(out)-80):])
	}
}

// What go test exits with counts even when its JSON shows no failure, and
// output cut off mid-test is a failure too.
func TestCommandStatusIsNotLost(t *testing.T) {
	t.Parallel()
	pass := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p"}
`
	for _, tt := range []struct {
		name, script string
		wantCode     int
		want         string
	}{
		{"all passed", "cat <<'EOF'\n" + pass + "EOF\n", 0, "tests: 1 run, 1 passed, 0 failed, 0 skipped\n"},
		{"passed but exited 2", "cat <<'EOF'\n" + pass + "EOF\nexit 2", 1, "FAIL: sh exited with status 2\ntests: 1 run, 1 passed, 0 failed, 0 skipped; 1 other failure\n"},
		{"not JSON at all", "echo 'go: unknown flag -rcae'; exit 2", 1, "go: unknown flag -rcae\nFAIL: sh exited with status 2\n"},
		{"ended mid-test", `echo '{"Action":"run","Package":"p","Test":"TestA"}'`, 1, "=== FAIL p TestA (the output ended before it did)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			code := run([]string{"--", "sh", "-c", tt.script}, strings.NewReader(""), &out, &stderr)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d (want %d), output:\n%s\nwant it to contain:\n%s", code, tt.wantCode, out.String(), tt.want)
			}
		})
	}
}
