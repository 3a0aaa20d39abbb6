// OpenAI chat completions through the official openai SDK, pointed at localaik.
//
//   localaik serve --mode replay --cassette cassettes/examples.db &
//   npm ci && node openai_example.mjs
//
// One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
// http://127.0.0.1:8090; the OpenAI API lives under /v1); the API key is a dummy.
import OpenAI from "openai";

const baseUrl = process.env.LOCALAIK_URL ?? "http://127.0.0.1:8090";
const model = "gpt-4o-mini";
const messages = [{ role: "user", content: "Say hello in one short sentence." }];
const max_tokens = 32; // a short answer keeps the recording small

const client = new OpenAI({ apiKey: "test", baseURL: `${baseUrl}/v1` });

const completion = await client.chat.completions.create({ model, messages, max_tokens });
console.log("chat.completions:", completion.choices[0].message.content);

const stream = await client.chat.completions.create({ model, messages, max_tokens, stream: true });
let text = "";
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? "";
}
console.log("chat.completions stream:", text);
