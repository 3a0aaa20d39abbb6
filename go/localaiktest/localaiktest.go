// Package localaiktest gives Go tests per-test localaik cassettes, with the standard library
// only.
//
//	func TestSummary(t *testing.T) {
//		t.Parallel()
//		lk := localaiktest.Start(t)
//		// point the client at lk.OpenAIBaseURL and send through lk.Client (or add lk.Header)
//	}
//
// Start gives the base URLs of a localaik shared by the test binary (LOCALAIK_URL names a
// running one; otherwise the first Start runs `localaik serve`, found through LOCALAIK_BIN or
// PATH, on a free loopback port, replaying when CI is true unless LK_MODE says otherwise). Each test's requests go to its own
// cassette, named from t.Name(), through the X-Localaik-Cassette header that lk.Client adds:
// the header, not a selection made through /_localaik/session, because a selection holds for
// every request a server answers and tests marked t.Parallel() run at the same time on one
// server (one server per test would cost a process start each). When the test ends, its
// requests that missed in replay fail it, with the miss text (from GET /_localaik/session, for
// its cassette only).
//
// The server stops when the test binary ends (it runs with --stop-on-eof on a pipe from the
// binary). Calling Run from TestMain stops it as soon as the tests end, and waits for it:
//
//	func TestMain(m *testing.M) { os.Exit(localaiktest.Run(m)) }
package localaiktest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Header is the request header that names a request's cassette.
const Header = "X-Localaik-Cassette"

const sessionPath = "/_localaik/session"

// Localaik is one test's view of the server: its base URLs and its cassette.
type Localaik struct {
	URL              string // the server, http://127.0.0.1:PORT
	GeminiBaseURL    string // for Gemini clients (the SDK adds /v1beta)
	OpenAIBaseURL    string // for OpenAI clients, ending in /v1
	AnthropicBaseURL string // for Anthropic clients (the SDK adds /v1)
	Cassette         string // this test's cassette name, from t.Name()
	// Client sends every request with this test's cassette header.
	Client *http.Client
}

var (
	shared struct {
		sync.Mutex
		url   string
		proc  *exec.Cmd
		stdin io.WriteCloser
		err   error
	}
	listening = regexp.MustCompile(`listening on (http://[0-9.]+:[0-9]+)`)
	unsafe    = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// Start gives this test's localaik: the shared server (started at the first call), its base
// URLs and a client that sends the test's requests to the test's own cassette; misses fail
// the test when it ends.
func Start(t testing.TB) *Localaik {
	t.Helper()
	base, err := server()
	if err != nil {
		t.Fatalf("localaiktest: %v", err)
	}
	name := CassetteName(t.Name())
	report, err := session(base, url.Values{"cassette": {name}})
	if err != nil {
		t.Fatalf("localaiktest: %v", err)
	}
	after := report.Last
	t.Cleanup(func() {
		report, err := session(base, url.Values{
			"cassette": {name}, "after": {strconv.Itoa(after)},
		})
		if err != nil {
			t.Errorf("localaiktest: %v", err)
			return
		}
		if len(report.Missed) > 0 {
			texts := make([]string, 0, len(report.Missed))
			for _, miss := range report.Missed {
				texts = append(texts, miss.Miss)
			}
			t.Errorf("%d request(s) missed in replay:\n%s",
				len(report.Missed), strings.Join(texts, "\n\n"))
		}
	})
	return &Localaik{
		URL:              base,
		GeminiBaseURL:    base,
		OpenAIBaseURL:    base + "/v1",
		AnthropicBaseURL: base,
		Cassette:         name,
		Client:           &http.Client{Transport: withCassette{name, http.DefaultTransport}},
	}
}

// CassetteName is the cassette of a test named name: its characters a cassette name may have
// (subtests' slashes become underscores), and the .db extension.
func CassetteName(name string) string {
	cleaned := unsafe.ReplaceAllString(name, "_")
	for strings.Contains(cleaned, "..") {
		cleaned = strings.ReplaceAll(cleaned, "..", ".")
	}
	cleaned = strings.Trim(cleaned, "._-")
	if cleaned == "" {
		cleaned = "test"
	}
	return cleaned + ".db"
}

// Run runs the tests, then stops the server the package started (for TestMain).
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the server the package started, if it did.
func Stop() {
	shared.Lock()
	defer shared.Unlock()
	if shared.proc != nil && shared.proc.Process != nil {
		_ = shared.proc.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = shared.proc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = shared.proc.Process.Kill()
		}
	}
	shared.proc, shared.url, shared.err = nil, "", nil
}

// withCassette adds the test's cassette header to every request.
type withCassette struct {
	name string
	next http.RoundTripper
}

func (w withCassette) RoundTrip(request *http.Request) (*http.Response, error) {
	request = request.Clone(request.Context())
	request.Header.Set(Header, w.name)
	return w.next.RoundTrip(request)
}

// server is the shared server's URL: LOCALAIK_URL's, or one started now.
func server() (string, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.url != "" || shared.err != nil {
		return shared.url, shared.err
	}
	if given := os.Getenv("LOCALAIK_URL"); given != "" {
		shared.url = strings.TrimRight(given, "/")
		return shared.url, nil
	}
	shared.url, shared.err = start()
	return shared.url, shared.err
}

func start() (string, error) {
	bin := os.Getenv("LOCALAIK_BIN")
	if bin == "" {
		found, err := exec.LookPath("localaik")
		if err != nil {
			return "", fmt.Errorf("the localaik command is not on PATH: install it " +
				"(pip install localaik), set LOCALAIK_BIN to it, or LOCALAIK_URL to a running one")
		}
		bin = found
	}
	cassettes := os.Getenv("LOCALAIK_CASSETTES")
	if cassettes == "" {
		cassettes = filepath.Join("testdata", "cassettes")
	}
	folder, err := filepath.Abs(cassettes)
	if err != nil {
		return "", err
	}
	// --stop-on-eof: the server ends with this test binary, TestMain or not: its input is a
	// pipe from here, which the system closes however the binary ends.
	cmd := exec.Command(bin, "serve", "--host", "127.0.0.1", "--port", "0", "--stop-on-eof")
	cmd.Env = append(os.Environ(), "LK_CASSETTE="+filepath.Join(folder, "localaik.db"))
	if isCI() && os.Getenv("LK_MODE") == "" {
		cmd.Env = append(cmd.Env, "LK_MODE=replay")
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("could not run %s: %v", bin, err)
	}
	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		var log []string
		for lines.Scan() { // read to the end: the server keeps writing its log
			if match := listening.FindStringSubmatch(lines.Text()); match != nil {
				found <- match[1]
			} else if len(log) < 200 {
				log = append(log, lines.Text())
			}
		}
		found <- "exited:\n" + strings.Join(log, "\n")
	}()
	select {
	case line := <-found:
		if strings.HasPrefix(line, "exited:") {
			_ = cmd.Wait()
			return "", fmt.Errorf("localaik serve %s", line)
		}
		shared.proc, shared.stdin = cmd, stdin // kept open while the binary runs
		return line, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return "", fmt.Errorf("localaik serve did not start within 30 s")
	}
}

// isCI reads CI as localaik does: set to anything but "", "false" or "0".
func isCI() bool {
	value := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return value != "" && value != "false" && value != "0"
}

// Report is what GET /_localaik/session says (the fields this package reads).
type Report struct {
	Last   int `json:"last"`
	Missed []struct {
		Key  string `json:"key"`
		Miss string `json:"miss"`
	} `json:"missed"`
	Replayed []struct {
		Key string `json:"key"`
	} `json:"replayed"`
	Recorded []struct {
		Key string `json:"key"`
	} `json:"recorded"`
}

func session(base string, query url.Values) (*Report, error) {
	response, err := http.Get(base + sessionPath + "?" + query.Encode())
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		var failed struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.NewDecoder(response.Body).Decode(&failed)
		return nil, fmt.Errorf("%s: %d %s", sessionPath, response.StatusCode, failed.Error.Message)
	}
	var report Report
	if err := json.NewDecoder(response.Body).Decode(&report); err != nil {
		return nil, fmt.Errorf("%s: %v", sessionPath, err)
	}
	return &report, nil
}
