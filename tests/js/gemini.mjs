// @google/genai against a running localaik: text and stream, three ways of pointing at it.
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 GOOGLE_GEMINI_BASE_URL=$LOCALAIK_URL node gemini.mjs
// Prints one JSON object with the results; exits 1 (error on stderr) on any exception.
import { readFileSync } from "node:fs";
import { GoogleGenAI } from "@google/genai";

const TIMEOUT_MS = 20000;

function sdkVersion() {
  const path = new URL("./node_modules/@google/genai/package.json", import.meta.url);
  return JSON.parse(readFileSync(path, "utf8")).version;
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function run(ai, model, prompt) {
  const answer = await ai.models.generateContent({ model, contents: prompt });
  const candidate = answer.candidates?.[0] ?? {};
  const stream = await ai.models.generateContentStream({ model, contents: prompt + " (stream)" });
  const pieces = [];
  let last = null;
  for await (const chunk of stream) {
    pieces.push(chunk.text ?? "");
    last = chunk;
  }
  return {
    text: answer.text,
    finishReason: candidate.finishReason ?? null,
    candidateIndex: candidate.index ?? null,
    modelVersion: answer.modelVersion ?? null,
    responseId: answer.responseId ?? null,
    totalTokens: answer.usageMetadata?.totalTokenCount ?? null,
    stream: {
      chunks: pieces.length,
      text: pieces.join(""),
      finishReason: last?.candidates?.[0]?.finishReason ?? null,
      modelVersion: last?.modelVersion ?? null,
      totalTokens: last?.usageMetadata?.totalTokenCount ?? null,
    },
  };
}

async function main() {
  const url = requireEnv("LOCALAIK_URL");
  const envUrl = requireEnv("GOOGLE_GEMINI_BASE_URL");
  const timeout = TIMEOUT_MS;
  const results = { sdkVersion: sdkVersion(), envBaseUrl: envUrl };

  const v1beta = new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl: url, timeout } });
  results.v1beta = await run(v1beta, "gemini-2.5-flash", "Hello from JS v1beta");

  const fromEnv = new GoogleGenAI({ apiKey: "test", httpOptions: { timeout } });
  results.env = await run(fromEnv, "gemini-env-js", "Hello from JS env");

  const v1 = new GoogleGenAI({ apiKey: "test", apiVersion: "v1",
                               httpOptions: { baseUrl: url, timeout } });
  results.v1 = await run(v1, "gemini-v1-js", "Hello from JS v1");

  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(`gemini.mjs failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
