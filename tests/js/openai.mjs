// openai (npm) against a running localaik: chat create and stream, base URL given or from env.
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 OPENAI_BASE_URL=$LOCALAIK_URL/v1 OPENAI_API_KEY=x \
//          node openai.mjs
// Prints one JSON object with the results; exits 1 (error on stderr) on any exception.
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const TIMEOUT_MS = 20000;

function sdkVersion() {
  const path = new URL("./node_modules/openai/package.json", import.meta.url);
  return JSON.parse(readFileSync(path, "utf8")).version;
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function run(client, model, prompt) {
  const messages = [{ role: "user", content: prompt }];
  const answer = await client.chat.completions.create({ model, messages });
  const choice = answer.choices[0];
  const stream = await client.chat.completions.create({
    model, messages: [{ role: "user", content: prompt + " (stream)" }], stream: true });
  const pieces = [];
  const models = new Set();
  let chunks = 0;
  let finishReason = null;
  for await (const chunk of stream) {
    chunks += 1;
    models.add(chunk.model);
    for (const c of chunk.choices) {
      pieces.push(c.delta?.content ?? "");
      if (c.finish_reason) finishReason = c.finish_reason;
    }
  }
  return {
    text: choice.message.content,
    role: choice.message.role,
    finishReason: choice.finish_reason,
    model: answer.model,
    object: answer.object,
    totalTokens: answer.usage?.total_tokens ?? null,
    stream: { chunks, text: pieces.join(""), finishReason, models: [...models] },
  };
}

async function main() {
  const url = requireEnv("LOCALAIK_URL");
  const envUrl = requireEnv("OPENAI_BASE_URL");
  requireEnv("OPENAI_API_KEY");
  const results = { sdkVersion: sdkVersion(), envBaseUrl: envUrl };

  const explicit = new OpenAI({ apiKey: "test", baseURL: url + "/v1", maxRetries: 0,
                                timeout: TIMEOUT_MS });
  results.explicit = await run(explicit, "gpt-4o-mini", "Hello from JS openai");

  const fromEnv = new OpenAI({ maxRetries: 0, timeout: TIMEOUT_MS });
  results.env = await run(fromEnv, "gpt-4.1-nano", "Hello from JS env");

  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(`openai.mjs failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
