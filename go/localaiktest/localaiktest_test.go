package localaiktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"localaik.dev/go/localaiktest"
)

// These tests call the three APIs in their wire formats with plain net/http (the Go SDKs are
// not needed to show the helper); tests/sdk/test_go_helper.py runs them against a localaik
// that records from a fake upstream, then replays, then with a changed PROMPT.

func TestMain(m *testing.M) { os.Exit(localaiktest.Run(m)) }

func prompt() string {
	if text := os.Getenv("PROMPT"); text != "" {
		return text
	}
	return "Say hello"
}

func needLocalaik(t *testing.T) {
	t.Helper()
	if os.Getenv("LOCALAIK_URL") == "" && os.Getenv("LOCALAIK_BIN") == "" {
		if _, err := exec.LookPath("localaik"); err != nil {
			t.Skip("no localaik: set LOCALAIK_URL, LOCALAIK_BIN, or put localaik on PATH")
		}
	}
}

// post sends a JSON body through the test's client; the answer's status and body.
func post(t *testing.T, lk *localaiktest.Localaik, url string, body any, headers map[string]string) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	request, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/json")
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	response, err := lk.Client.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	data, _ := io.ReadAll(response.Body)
	answer := map[string]any{}
	_ = json.Unmarshal(data, &answer)
	return response.StatusCode, answer
}

func TestOpenAIChat(t *testing.T) {
	needLocalaik(t)
	t.Parallel()
	lk := localaiktest.Start(t)
	status, answer := post(t, lk, lk.OpenAIBaseURL+"/chat/completions", map[string]any{
		"model":    "gpt-4o-mini",
		"messages": []map[string]any{{"role": "user", "content": prompt()}},
	}, map[string]string{"Authorization": "Bearer test-openai-key"})
	if status != http.StatusOK {
		t.Fatalf("openai: %d %v", status, answer)
	}
	choices, _ := answer["choices"].([]any)
	if len(choices) != 1 {
		t.Fatalf("openai: no choice in %v", answer)
	}
}

func TestGeminiGenerateContent(t *testing.T) {
	needLocalaik(t)
	t.Parallel()
	lk := localaiktest.Start(t)
	url := lk.GeminiBaseURL + "/v1beta/models/gemini-2.5-flash:generateContent"
	status, answer := post(t, lk, url, map[string]any{
		"contents": []map[string]any{{"role": "user", "parts": []map[string]any{{"text": prompt()}}}},
	}, map[string]string{"x-goog-api-key": "test-gemini-key"})
	if status != http.StatusOK {
		t.Fatalf("gemini: %d %v", status, answer)
	}
	if candidates, _ := answer["candidates"].([]any); len(candidates) != 1 {
		t.Fatalf("gemini: no candidate in %v", answer)
	}
}

func TestAnthropicMessages(t *testing.T) {
	needLocalaik(t)
	t.Parallel()
	lk := localaiktest.Start(t)
	status, answer := post(t, lk, lk.AnthropicBaseURL+"/v1/messages", map[string]any{
		"model":      "claude-test",
		"max_tokens": 64,
		"messages":   []map[string]any{{"role": "user", "content": prompt()}},
	}, map[string]string{"x-api-key": "test-anthropic-key", "anthropic-version": "2023-06-01"})
	if status != http.StatusOK {
		t.Fatalf("anthropic: %d %v", status, answer)
	}
	if content, _ := answer["content"].([]any); len(content) == 0 {
		t.Fatalf("anthropic: no content in %v", answer)
	}
}

// Parallel subtests: each its own cassette, though they run at once on one server.
func TestParallelSubtests(t *testing.T) {
	needLocalaik(t)
	for _, name := range []string{"first", "second", "third"} {
		name := name
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lk := localaiktest.Start(t)
			status, answer := post(t, lk, lk.OpenAIBaseURL+"/chat/completions", map[string]any{
				"model":    "gpt-4o-mini",
				"messages": []map[string]any{{"role": "user", "content": prompt() + " " + name}},
			}, nil)
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, answer)
			}
		})
	}
}

// A test that ignores the answer's status still fails on a miss: the helper's cleanup reads it.
func TestSwallowedMiss(t *testing.T) {
	needLocalaik(t)
	t.Parallel()
	lk := localaiktest.Start(t)
	post(t, lk, lk.OpenAIBaseURL+"/chat/completions", map[string]any{
		"model":    "gpt-4o-mini",
		"messages": []map[string]any{{"role": "user", "content": prompt() + " (swallowed)"}},
	}, nil)
}

func TestCassetteName(t *testing.T) {
	cases := map[string]string{
		"TestX":                 "TestX.db",
		"TestX/sub_case#01":     "TestX_sub_case_01.db",
		"TestY/../../etc":       "TestY_._._etc.db",
		"TestZ/with spaces.and": "TestZ_with_spaces.and.db",
	}
	for name, want := range cases {
		if got := localaiktest.CassetteName(name); got != want {
			t.Errorf("CassetteName(%q) = %q, want %q", name, got, want)
		}
		if strings.Contains(localaiktest.CassetteName(name), "..") {
			t.Errorf("CassetteName(%q) has ..", name)
		}
	}
}
