// Gemini through the official @google/genai SDK, pointed at localaik.
//
//   localaik serve --mode replay --cassette cassettes/examples.db &
//   npm ci && node gemini_example.mjs
//
// One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
// http://127.0.0.1:8090); the API key is a dummy, since localaik never checks or stores it.
import { GoogleGenAI } from "@google/genai";

const baseUrl = process.env.LOCALAIK_URL ?? "http://127.0.0.1:8090";
const model = "gemini-2.5-flash";
const contents = "What colour is the sky on a clear day?";
const config = { maxOutputTokens: 32 }; // a short answer keeps the recording small

const ai = new GoogleGenAI({ apiKey: "test", httpOptions: { baseUrl } });

const response = await ai.models.generateContent({ model, contents, config });
console.log("generateContent:", response.text);

const stream = await ai.models.generateContentStream({ model, contents, config });
let text = "";
for await (const chunk of stream) {
  text += chunk.text ?? "";
}
console.log("generateContentStream:", text);
