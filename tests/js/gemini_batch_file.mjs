// @google/genai (npm): a batch from an uploaded JSONL file, for
// tests/sdk/test_js_gemini_batch_file.py (recorded, then replayed: every result must be the same).
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 DOWNLOAD_PATH=/tmp/results.jsonl node gemini_batch_file.mjs
//   files.upload (JSON lines), batches.create({src: "files/…"}), batches.get (succeeded),
//   files.get of the results file, files.download of it to DOWNLOAD_PATH.
// Prints one JSON object; exits 1 (error on stderr) on any unexpected exception.
import { readFile } from "node:fs/promises";
import { GoogleGenAI } from "@google/genai";

const TIMEOUT_MS = 20000;
const MODEL = "gemini-2.5-flash";

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const plain = (value) => JSON.parse(JSON.stringify(value));
const line = (key, text) => ({ key, request: { contents: [{ role: "user", parts: [{ text }] }] } });

async function main() {
  const url = requireEnv("LOCALAIK_URL");
  const downloadPath = requireEnv("DOWNLOAD_PATH");
  const ai = new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl: url, timeout: TIMEOUT_MS } });
  const data = [line("j1", "JS file batch one"), line("j2", "JS file batch two")]
    .map((item) => JSON.stringify(item) + "\n")
    .join("");
  const source = await ai.files.upload({
    file: new Blob([data], { type: "application/jsonl" }),
    config: { mimeType: "application/jsonl" },
  });
  const job = await ai.batches.create({ model: MODEL, src: source.name });
  const done = await ai.batches.get({ name: job.name });
  const results = await ai.files.get({ name: done.dest.fileName });
  await ai.files.download({ file: done.dest.fileName, downloadPath });
  const text = await readFile(downloadPath, "utf8");
  const lines = text.split("\n").filter((item) => item).map((item) => JSON.parse(item));
  process.stdout.write(JSON.stringify({ job: plain(job), done: plain(done), results: plain(results), lines }) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
