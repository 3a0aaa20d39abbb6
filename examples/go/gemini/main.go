// Gemini through the official Go SDK (google.golang.org/genai), pointed at localaik.
//
//	localaik serve --mode replay --cassette cassettes/examples.db &
//	cd examples/go && go mod tidy && go run ./gemini
//
// One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
// http://127.0.0.1:8090); the API key is a dummy, since localaik never checks or stores it.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"google.golang.org/genai"
)

const (
	model  = "gemini-2.5-flash"
	prompt = "What colour is the sky on a clear day?"
)

func main() {
	baseURL := os.Getenv("LOCALAIK_URL")
	if baseURL == "" {
		baseURL = "http://127.0.0.1:8090"
	}
	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      "test",
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: baseURL},
	})
	if err != nil {
		log.Fatal(err)
	}
	// A short answer keeps the recording small.
	config := &genai.GenerateContentConfig{MaxOutputTokens: 32}

	response, err := client.Models.GenerateContent(ctx, model, genai.Text(prompt), config)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("generateContent:", response.Text())

	var text strings.Builder
	for chunk, err := range client.Models.GenerateContentStream(ctx, model, genai.Text(prompt), config) {
		if err != nil {
			log.Fatal(err)
		}
		text.WriteString(chunk.Text())
	}
	fmt.Println("generateContentStream:", text.String())
}
