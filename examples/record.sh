#!/usr/bin/env bash
# Re-record cassettes/examples.db from the real bundled model (`make examples-record`).
#
# Starts `localaik serve --mode record` on a free port with a fresh cassette, runs every example
# whose toolchain is here (Python, JavaScript, curl; Go and Java when `go` / `mvn` can fetch their
# SDKs), stops the server, and only then replaces cassettes/examples.db, so a failed run leaves
# the committed cassette as it was. The examples send the same requests in every language, so
# the first one to run records them and the others replay those recordings.
#
# Needs `localaik runtime install` (the bundled llama-server and model) and `make js-deps`.
# LK_MODEL picks another model (smollm2-135m by default); LK_UPSTREAM records from your own
# OpenAI-compatible server instead.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
CASSETTE=${CASSETTE:-cassettes/examples.db}   # CASSETTE=/tmp/x.db to try without replacing it
work=$(mktemp -d)
server=""

cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" && wait "$server" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

LK_MODE=record "$PYTHON" -m localaik serve --port 0 --cassette "$work/examples.db" \
  >"$work/serve.log" 2>&1 &
server=$!

# The port is in the "listening on" line; the model is ready when /health answers 200.
url=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/serve.log" >&2
    echo "record.sh: localaik serve stopped before it was ready" >&2
    exit 1
  fi
  if [ -z "$url" ]; then
    url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/serve.log" | head -1 | cut -d' ' -f3 || true)
  fi
  if [ -n "$url" ] && curl -sf "$url/health" >/dev/null; then
    break
  fi
  sleep 0.5
done
curl -sf "$url/health" >/dev/null || { cat "$work/serve.log" >&2; echo "record.sh: not ready" >&2; exit 1; }
export LOCALAIK_URL=$url
echo "recording from localaik at $url"

say "python"
"$PYTHON" examples/python/gemini_example.py
"$PYTHON" examples/python/openai_example.py

say "javascript"
if command -v node >/dev/null && [ -d examples/js/node_modules ]; then
  (cd examples/js && node gemini_example.mjs && node openai_example.mjs)
else
  echo "skipped: needs node and \`npm ci --prefix examples/js\` (make js-deps)"
fi

say "curl"
bash examples/curl/examples.sh >/dev/null && echo "ok"

say "go"
if ! command -v go >/dev/null; then
  echo "skipped: go is not on PATH"
elif ! (cd examples/go && go mod tidy); then
  echo "skipped: the Go SDK modules cannot be fetched"
else
  (cd examples/go && go run ./gemini && go run ./openai)
fi

say "java"
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  echo "skipped: mvn and java are needed"
elif ! mvn -B -q -f examples/java/pom.xml dependency:resolve >"$work/mvn.log" 2>&1; then
  why=$(grep -m1 'ERROR' "$work/mvn.log" | sed 's/\x1b\[[0-9;]*m//g' || true)
  [ "${#why}" -le 160 ] || why="...${why: -160}"
  echo "skipped: the Java SDKs cannot be fetched ($why)"
else
  for main in examples.GeminiExample examples.OpenAIExample; do
    mvn -B -q -f examples/java/pom.xml compile exec:java -Dexec.mainClass="$main"
  done
fi

# A clean stop closes the cassette: one self-contained file, nothing beside it.
kill -TERM "$server"
wait "$server" || true
server=""
if [ -e "$work/examples.db-wal" ]; then
  echo "record.sh: the cassette still has a -wal file after the server stopped" >&2
  exit 1
fi
mkdir -p "$(dirname "$CASSETTE")"
mv "$work/examples.db" "$CASSETTE"
say "recorded $CASSETTE"
"$PYTHON" -m localaik cassette ls "$CASSETTE" 2>/dev/null || ls -l "$CASSETTE"
