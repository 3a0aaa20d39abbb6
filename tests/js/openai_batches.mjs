// openai (npm): a batch over an uploaded JSONL file, for tests/sdk/test_js_openai_batches.py
// (recorded, then replayed: every result must be the same).
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 node openai_batches.mjs
//   files.create (purpose batch), batches.create, retrieve (completed), files.content of the
//   output file, list, cancel then retrieve (cancelled), an unknown batch (404).
// Prints one JSON object; exits 1 (error on stderr) on any unexpected exception.
import OpenAI, { toFile } from "openai";

const TIMEOUT_MS = 20000;
const CHAT = "/v1/chat/completions";

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const plain = (value) => JSON.parse(JSON.stringify(value));
const line = (id, text) => ({
  custom_id: id,
  method: "POST",
  url: CHAT,
  body: { model: "m", max_tokens: 16, messages: [{ role: "user", content: text }] },
});

async function failure(call) {
  try {
    await call();
    return { raised: false };
  } catch (error) {
    return { raised: true, status: error?.status ?? null, message: String(error?.message ?? error) };
  }
}

async function main() {
  const url = requireEnv("LOCALAIK_URL");
  const client = new OpenAI({ apiKey: "test", baseURL: `${url}/v1`, timeout: TIMEOUT_MS, maxRetries: 0 });
  const data = [line("js-1", "JS batch one"), line("js-2", "JS batch two")]
    .map((item) => JSON.stringify(item) + "\n")
    .join("");
  const input = await client.files.create({ file: await toFile(Buffer.from(data), "in.jsonl"), purpose: "batch" });
  const created = await client.batches.create({ input_file_id: input.id, endpoint: CHAT, completion_window: "24h" });
  const done = await client.batches.retrieve(created.id);
  const output = (await (await client.files.content(done.output_file_id)).text())
    .split("\n")
    .filter((text) => text)
    .map((text) => JSON.parse(text));
  const other = await client.batches.create({ input_file_id: input.id, endpoint: CHAT, completion_window: "24h" });
  const cancelling = await client.batches.cancel(other.id);
  const cancelled = await client.batches.retrieve(other.id);
  const listed = [];
  for await (const batch of client.batches.list()) listed.push(batch.id);
  const unknown = await failure(() => client.batches.retrieve("batch_nope"));
  const result = {
    input: plain(input),
    created: plain(created),
    done: plain(done),
    output,
    cancelling: plain(cancelling),
    cancelled: plain(cancelled),
    listed,
    unknown,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
