// Embeddings with @google/genai and openai (npm) against a running localaik.
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 node embeddings.mjs
// Prints one JSON object with the vectors each call returned; exits 1 (error on stderr) on any
// exception. tests/sdk/test_embeddings_sdk.py runs it while recording and while replaying.
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

const TIMEOUT_MS = 20000;

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function gemini(url, apiVersion) {
  return new GoogleGenAI({ apiKey: "test", apiVersion,
                           httpOptions: { baseUrl: url, timeout: TIMEOUT_MS } });
}

async function main() {
  const url = requireEnv("LOCALAIK_URL");
  const results = {};

  // The same request as the Python scenario's "batch" step: both SDKs share its recording.
  const batch = await gemini(url, "v1beta").models.embedContent({
    model: "gemini-embedding-001", contents: ["hello", "world"],
    config: { taskType: "RETRIEVAL_DOCUMENT", title: "t", outputDimensionality: 4 } });
  results.gemini_batch = batch.embeddings.map((e) => e.values);
  const single = await gemini(url, "v1").models.embedContent({
    model: "gemini-embedding-001", contents: "js single" });
  results.gemini_single = single.embeddings.map((e) => e.values);

  const openai = new OpenAI({ apiKey: "test", baseURL: url + "/v1", maxRetries: 0,
                              timeout: TIMEOUT_MS });
  // The SDK's default (it asks for base64 and decodes it), as the Python "default" step.
  const byDefault = await openai.embeddings.create({ model: "text-embedding-3-small",
                                                     input: ["hello", "world"] });
  results.openai_default = byDefault.data.map((d) => Array.from(d.embedding));
  const floats = await openai.embeddings.create({ model: "text-embedding-3-small",
                                                  input: "js float", encoding_format: "float" });
  results.openai_float = floats.data.map((d) => d.embedding);
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + "\n");
  process.exit(1);
});
