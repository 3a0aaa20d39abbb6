module localaik.example/go

go 1.25

require (
	github.com/openai/openai-go/v3 v3.74.0
	google.golang.org/genai v1.42.0
)
