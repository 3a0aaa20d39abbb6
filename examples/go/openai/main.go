// OpenAI chat completions through the official Go SDK (github.com/openai/openai-go),
// pointed at localaik.
//
//	localaik serve --mode replay --cassette cassettes/examples.db &
//	cd examples/go && go mod tidy && go run ./openai
//
// One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
// http://127.0.0.1:8090; the OpenAI API lives under /v1); the API key is a dummy.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func main() {
	baseURL := os.Getenv("LOCALAIK_URL")
	if baseURL == "" {
		baseURL = "http://127.0.0.1:8090"
	}
	client := openai.NewClient(option.WithAPIKey("test"), option.WithBaseURL(baseURL+"/v1"))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:     "gpt-4o-mini",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello in one short sentence.")},
		MaxTokens: openai.Int(32), // a short answer keeps the recording small
	}

	completion, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("chat.completions:", completion.Choices[0].Message.Content)

	stream := client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	var text strings.Builder
	for stream.Next() {
		chunk := stream.Current()
		if len(chunk.Choices) > 0 {
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("chat.completions stream:", text.String())
}
