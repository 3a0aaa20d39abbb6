// A replay miss as the three JS SDKs show it. Usage: LOCALAIK_URL=... PROMPT=... node miss.mjs
// Asks each SDK once with PROMPT; prints one JSON object: per SDK, what it answered, or the
// error it threw (its class, status, String(err), err.message). Exits 1 on anything else.
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

const url = process.env.LOCALAIK_URL;
const prompt = process.env.PROMPT;
if (!url || !prompt) throw new Error("LOCALAIK_URL and PROMPT must be set");

const asks = {
  gemini: () =>
    new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl: url } }).models.generateContent({
      model: "gemini-2.5-flash",
      contents: prompt,
    }),
  openai: () =>
    new OpenAI({ apiKey: "test", baseURL: url + "/v1", maxRetries: 0 }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: prompt }],
    }),
  anthropic: () =>
    new Anthropic({ apiKey: "test", baseURL: url, maxRetries: 0 }).messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 16,
      messages: [{ role: "user", content: prompt }],
    }),
};

const results = {};
for (const [name, ask] of Object.entries(asks)) {
  try {
    await ask();
    results[name] = { answered: true };
  } catch (err) {
    results[name] = {
      answered: false,
      name: err.constructor.name,
      status: err.status ?? null,
      string: String(err),
      message: err.message,
    };
  }
}
console.log(JSON.stringify(results));
