#!/usr/bin/env bash
# The Gemini and OpenAI APIs with plain curl, against localaik.
#
#   localaik serve --mode replay --cassette cassettes/examples.db &
#   bash examples/curl/examples.sh
#
# Four calls: Gemini generateContent, the same streamed (server-sent events), then an OpenAI
# chat completion, plain and streamed. Each answer is printed as it arrives, after a "# ..." line.
# The base URL comes from LOCALAIK_URL (default http://127.0.0.1:8090); the key is a dummy.
# --fail-with-body: a replay miss (404) still prints localaik's explanation, and the script
# stops with a non-zero status.
set -euo pipefail

URL="${LOCALAIK_URL:-http://127.0.0.1:8090}"
MODEL="gemini-2.5-flash"
GEMINI='{"contents": [{"role": "user", "parts": [{"text": "What colour is the sky on a clear day?"}]}],
         "generationConfig": {"maxOutputTokens": 32}}'
MESSAGES='[{"role": "user", "content": "Say hello in one short sentence."}]'
OPENAI="{\"model\": \"gpt-4o-mini\", \"max_tokens\": 32, \"messages\": $MESSAGES}"
OPENAI_STREAM="{\"model\": \"gpt-4o-mini\", \"max_tokens\": 32, \"messages\": $MESSAGES, \"stream\": true}"

post() {  # post PATH BODY [more curl arguments]
  local path=$1 body=$2
  shift 2
  curl -sS --fail-with-body "$URL$path" -H 'Content-Type: application/json' -d "$body" "$@"
  echo
}

echo "# gemini generateContent"
post "/v1beta/models/$MODEL:generateContent" "$GEMINI" -H 'x-goog-api-key: test'

echo "# gemini streamGenerateContent"
post "/v1beta/models/$MODEL:streamGenerateContent?alt=sse" "$GEMINI" -N -H 'x-goog-api-key: test'

echo "# openai chat.completions"
post "/v1/chat/completions" "$OPENAI" -H 'Authorization: Bearer test'

echo "# openai chat.completions stream"
post "/v1/chat/completions" "$OPENAI_STREAM" -N -H 'Authorization: Bearer test'
