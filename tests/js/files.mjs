// @google/genai and openai (npm) Files, for tests/sdk/test_files_js_sdks.py.
// Usage: LOCALAIK_URL=http://127.0.0.1:8090 node files.mjs gemini|openai
//   gemini: files.upload (the resumable protocol) twice with the same bytes and once with
//           others, get, list, generateContent naming an uploaded file, delete, list again.
//   openai: files.create twice and once with other bytes, retrieve, list, content, a chat
//           completion and a Responses request naming an uploaded file, delete, list again.
// Prints one JSON object; exits 1 (error on stderr) on any unexpected exception.
import { GoogleGenAI, createPartFromUri } from "@google/genai";
import OpenAI, { toFile } from "openai";

const TIMEOUT_MS = 20000;
const NOTES = "The secret word is pelican.\n";
const plain = (value) => JSON.parse(JSON.stringify(value));

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function gemini(url) {
  const ai = new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl: url, timeout: TIMEOUT_MS } });
  const upload = (text, name) =>
    ai.files.upload({
      file: new Blob([text], { type: "text/plain" }),
      config: { mimeType: "text/plain", displayName: name },
    });
  const first = await upload(NOTES, "notes");
  const again = await upload(NOTES, "notes");
  const other = await upload("col\n1\n", "table");
  const got = await ai.files.get({ name: first.name });
  const listed = [];
  for await (const file of await ai.files.list({ config: { pageSize: 2 } })) listed.push(file.name);
  const asked = await ai.models.generateContent({
    model: "gemini-2.5-flash",
    contents: ["What is the secret word?", createPartFromUri(again.uri, again.mimeType)],
  });
  await ai.files.delete({ name: other.name });
  const after = [];
  for await (const file of await ai.files.list()) after.push(file.name);
  return { files: plain([first, again, other]), got: plain(got), listed, answer: asked.text, after };
}

async function openai(url) {
  const client = new OpenAI({ apiKey: "test", baseURL: url + "/v1", timeout: TIMEOUT_MS });
  const create = async (text, name) =>
    client.files.create({ file: await toFile(Buffer.from(text), name), purpose: "user_data" });
  const first = await create(NOTES, "notes.txt");
  const again = await create(NOTES, "notes.txt");
  const other = await create("col\n1\n", "table.csv");
  const got = await client.files.retrieve(first.id);
  const listed = [];
  for await (const file of client.files.list()) listed.push(file.id);
  const content = await (await client.files.content(first.id)).text();
  const chat = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "What is the secret word?" },
          { type: "file", file: { file_id: again.id } },
        ],
      },
    ],
  });
  const response = await client.responses.create({
    model: "gpt-4o-mini",
    input: [
      {
        role: "user",
        content: [
          { type: "input_text", text: "What is the secret word?" },
          { type: "input_file", file_id: first.id },
        ],
      },
    ],
  });
  const deleted = await client.files.delete(other.id);
  const after = [];
  for await (const file of client.files.list()) after.push(file.id);
  return {
    files: plain([first, again, other]),
    got: plain(got),
    listed,
    content,
    chat: chat.choices[0].message.content,
    response: response.output_text,
    deleted: plain(deleted),
    after,
  };
}

const url = requireEnv("LOCALAIK_URL");
const which = process.argv[2];
try {
  const out = which === "gemini" ? await gemini(url) : await openai(url);
  process.stdout.write(JSON.stringify(out));
} catch (error) {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
}
