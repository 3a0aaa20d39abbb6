// Faults on demand (X-Localaik-Fault) through openai and @google/genai (npm) against a running
// localaik: what each SDK raises and whether its retries reach the real answer.
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 node faults.mjs
// Prints one JSON object with the results; exits 1 (error on stderr) on any unexpected exception.
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

const url = process.env.LOCALAIK_URL;
if (!url) throw new Error("LOCALAIK_URL is not set");
const TEXT = "one two three four five six";

function openai(fault, options = {}) {
  return new OpenAI({ apiKey: "test", baseURL: url + "/v1", maxRetries: 0,
    defaultHeaders: { "X-Localaik-Fault": fault }, ...options });
}

function gemini(fault, httpOptions = {}) {
  return new GoogleGenAI({ apiKey: "test",
    httpOptions: { baseUrl: url, headers: { "X-Localaik-Fault": fault }, ...httpOptions } });
}

function ask(client, text) {
  return client.chat.completions.create({ model: "gpt-4o-mini",
    messages: [{ role: "user", content: text }] });
}

// What a call raised: its class name, status and message; or what it returned.
async function outcome(call) {
  try {
    return { ok: await call() };
  } catch (error) {
    return { error: error.constructor.name, status: error.status ?? null,
      message: String(error.message).slice(0, 300) };
  }
}

async function streamOpenai(client, text) {
  const pieces = [];
  const result = await outcome(async () => {
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini",
      messages: [{ role: "user", content: text }], stream: true });
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta?.content ?? "");
    return "done";
  });
  return { ...result, text: pieces.join("") };
}

async function streamGemini(client, text) {
  const pieces = [];
  const result = await outcome(async () => {
    const stream = await client.models.generateContentStream({ model: "gemini-2.5-flash",
      contents: text });
    for await (const chunk of stream) pieces.push(chunk.text ?? "");
    return "done";
  });
  return { ...result, text: pieces.join("") };
}

const results = {};
let start = Date.now();
results.openaiRetried = await outcome(async () =>
  (await ask(openai("status=429; times=2", { maxRetries: 2 }), "retried")).choices[0].message.content);
results.openaiRetriedSeconds = (Date.now() - start) / 1000;
results.openaiRateLimited = await outcome(() =>
  ask(openai("status=429; times=3; retry-after=0", { maxRetries: 2 }), "limited"));
results.openaiCut = await streamOpenai(openai("cut-after=3"), TEXT);
results.openaiErrorEvent = await streamOpenai(openai("error-after=2; status=503"), TEXT);
start = Date.now();
results.openaiTimeout = await outcome(() => ask(openai("delay-ms=1500", { timeout: 500 }), "slow"));
results.openaiTimeoutSeconds = (Date.now() - start) / 1000;
results.openaiReset = await outcome(() => ask(openai("reset"), "reset"));

const generate = (client, text) => outcome(async () =>
  (await client.models.generateContent({ model: "gemini-2.5-flash", contents: text })).text);
results.geminiRateLimited = await generate(gemini("status=429"), "limited");
results.geminiUnavailable = await generate(gemini("status=503"), "unavailable");
results.geminiRetried = await generate(
  gemini("status=503; times=2", { retryOptions: { attempts: 3, initialDelay: 0.1, maxDelay: 0.2 } }),
  "retried");
results.geminiCut = await streamGemini(gemini("cut-after=2"), TEXT);
results.geminiErrorEvent = await streamGemini(gemini("error-after=2; status=503"), TEXT);
results.geminiTimeout = await generate(gemini("delay-ms=1500", { timeout: 500 }), "slow");
results.geminiBadFault = await generate(gemini("cut-after=x"), "bad");

console.log(JSON.stringify(results));
