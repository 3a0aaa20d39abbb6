// @google/genai and openai (npm) for the record/replay tests (tests/sdk/test_record_replay.py).
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 node record_replay.mjs scenario|miss
//   scenario: generateContent + generateContentStream, chat create + stream (include_usage);
//             prints every SDK result whole (JSON), so a replay can be compared with the recording.
//   miss:     requests no cassette holds, with the SDKs' retries on; prints each error's status
//             and message (a replay miss must be a 404 that no SDK retries).
// Prints one JSON object; exits 1 (error on stderr) on any unexpected exception.
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

const TIMEOUT_MS = 20000;
const GEMINI_MODEL = "gemini-2.5-flash";
const OPENAI_MODEL = "gpt-4o-mini";

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// Class instances (GenerateContentResponse, ChatCompletion) as plain JSON values.
const plain = (value) => JSON.parse(JSON.stringify(value));

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(plain(chunk));
  return chunks;
}

async function scenario(url) {
  const ai = new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl: url, timeout: TIMEOUT_MS } });
  const openai = new OpenAI({ apiKey: "test", baseURL: url + "/v1", timeout: TIMEOUT_MS });
  const generate = await ai.models.generateContent({
    model: GEMINI_MODEL, contents: "Hello from JS record",
    config: { systemInstruction: "Be brief.", temperature: 0.5 } });
  const stream = await collect(await ai.models.generateContentStream({
    model: GEMINI_MODEL, contents: "Stream from JS record" }));
  const messages = [{ role: "user", content: "Hello from JS openai record" }];
  const chat = await openai.chat.completions.create({ model: OPENAI_MODEL, messages });
  const chatStream = await collect(await openai.chat.completions.create({
    model: OPENAI_MODEL, messages: [{ role: "user", content: "Stream from JS openai record" }],
    stream: true, stream_options: { include_usage: true } }));
  return {
    "gemini.generate": plain(generate),
    "gemini.stream": stream,
    "openai.chat": plain(chat),
    "openai.stream": chatStream,
  };
}

async function failure(call) {
  try {
    const value = await call();
    return { raised: false, value: plain(value) };
  } catch (error) {
    return { raised: true, name: error?.constructor?.name ?? null, status: error?.status ?? null,
             message: String(error?.message ?? error) };
  }
}

async function miss(url) {
  // Retries on: a 404 must still be sent once only.
  const ai = new GoogleGenAI({ apiKey: "test", httpOptions: {
    baseUrl: url, timeout: TIMEOUT_MS, retryOptions: { attempts: 3, initialDelay: 0.01 } } });
  const openai = new OpenAI({ apiKey: "test", baseURL: url + "/v1", timeout: TIMEOUT_MS });
  return {
    gemini: await failure(() => ai.models.generateContent({
      model: GEMINI_MODEL, contents: "Hello from JS never recorded" })),
    openai: await failure(() => openai.chat.completions.create({
      model: OPENAI_MODEL, messages: [{ role: "user", content: "Hello from JS never recorded" }] })),
  };
}

async function main() {
  const url = requireEnv("LOCALAIK_URL");
  const mode = process.argv[2] ?? "scenario";
  const runs = { scenario, miss };
  if (!(mode in runs)) throw new Error(`unknown mode ${mode}: expected scenario or miss`);
  process.stdout.write(JSON.stringify(await runs[mode](url)) + "\n");
}

main().catch((error) => {
  process.stderr.write(`record_replay.mjs failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
