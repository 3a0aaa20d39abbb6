// @google/genai and @anthropic-ai/sdk (npm): cached content and batches, for
// tests/sdk/test_js_batches.py (recorded, then replayed: every result must be the same).
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 node batches.mjs
//   gemini:    caches create/get/update/list, generateContent naming the cache, the same content
//              cached again under another name, caches delete; batches create (inline
//              requests), get (ended), list, cancel, get (cancelled), an unknown batch (404).
//   anthropic: messages.batches create, retrieve (ended), results (JSONL), list, an empty
//              batch (400).
// Prints one JSON object; exits 1 (error on stderr) on any unexpected exception.
import { GoogleGenAI } from "@google/genai";
import Anthropic from "@anthropic-ai/sdk";

const TIMEOUT_MS = 20000;
const GEMINI_MODEL = "gemini-2.5-flash";
const CLAUDE_MODEL = "claude-haiku-4-5";

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const plain = (value) => JSON.parse(JSON.stringify(value));

async function all(pager) {
  const items = [];
  for await (const item of pager) items.push(plain(item));
  return items;
}

async function failure(call) {
  try {
    await call();
    return { raised: false };
  } catch (error) {
    return { raised: true, status: error?.status ?? null, message: String(error?.message ?? error) };
  }
}

const inline = (text) => ({ contents: [{ role: "user", parts: [{ text }] }] });

async function gemini(url) {
  const ai = new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl: url, timeout: TIMEOUT_MS } });
  const config = {
    contents: [{ role: "user", parts: [{ text: "A long JS document about owls." }] }],
    systemInstruction: "Be brief.",
    ttl: "120s",
    displayName: "js-doc",
  };
  const cache = await ai.caches.create({ model: GEMINI_MODEL, config });
  const generated = await ai.models.generateContent({
    model: GEMINI_MODEL, contents: "What is it about, JS?", config: { cachedContent: cache.name } });
  const got = await ai.caches.get({ name: cache.name });
  const updated = await ai.caches.update({ name: cache.name, config: { ttl: "240s" } });
  const again = await ai.caches.create({ model: GEMINI_MODEL, config });
  const generatedAgain = await ai.models.generateContent({
    model: GEMINI_MODEL, contents: "What is it about, JS?", config: { cachedContent: again.name } });
  const listed = await all(await ai.caches.list());
  await ai.caches.delete({ name: again.name });

  const job = await ai.batches.create({
    model: GEMINI_MODEL,
    src: [inline("JS batch one"), inline("JS batch two")],
    config: { displayName: "js-nightly" },
  });
  const ended = await ai.batches.get({ name: job.name });
  const other = await ai.batches.create({ model: GEMINI_MODEL, src: [inline("JS batch three")] });
  await ai.batches.cancel({ name: other.name });
  const cancelled = await ai.batches.get({ name: other.name });
  const jobs = (await all(await ai.batches.list())).map((item) => item.name);
  const unknown = await failure(() => ai.batches.get({ name: "batches/nope" }));
  return {
    cache: plain(cache), generated: generated.text, got: plain(got), updated: plain(updated),
    againName: again.name, generatedAgain: generatedAgain.text, listed,
    job: plain(job), ended: plain(ended), cancelled: plain(cancelled), jobs, unknown,
  };
}

async function anthropic(url) {
  const client = new Anthropic({ apiKey: "test", baseURL: url, timeout: TIMEOUT_MS, maxRetries: 0 });
  const requests = ["JS claude one", "JS claude two"].map((text, i) => ({
    custom_id: `js-${i}`,
    params: { model: CLAUDE_MODEL, max_tokens: 32, messages: [{ role: "user", content: text }] },
  }));
  const created = await client.messages.batches.create({ requests });
  const retrieved = await client.messages.batches.retrieve(created.id);
  const results = [];
  for await (const line of await client.messages.batches.results(created.id)) results.push(plain(line));
  const listed = await all(client.messages.batches.list());
  const empty = await failure(() => client.messages.batches.create({ requests: [] }));
  return { created: plain(created), retrieved: plain(retrieved), results, listed, empty };
}

try {
  const url = requireEnv("LOCALAIK_URL");
  console.log(JSON.stringify({ gemini: await gemini(url), anthropic: await anthropic(url) }));
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
