// One call through each real SDK, reading its base URL and key from the environment the
// localaik helper set (the keys are test values the pytest driver sets).
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

export const PROMPT = process.env.PROMPT || "Say hello";

export async function askOpenai(prompt = PROMPT) {
  const client = new OpenAI({ maxRetries: 0 });
  const answer = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: prompt }],
  });
  return answer.choices[0].message.content;
}

export async function askGemini(prompt = PROMPT) {
  const client = new GoogleGenAI({ apiKey: process.env.GEMINI_API_KEY });
  const answer = await client.models.generateContent({
    model: "gemini-2.5-flash",
    contents: prompt,
  });
  return answer.text;
}

export async function askAnthropic(prompt = PROMPT) {
  const client = new Anthropic({ maxRetries: 0 });
  const answer = await client.messages.create({
    model: "claude-test",
    max_tokens: 64,
    messages: [{ role: "user", content: prompt }],
  });
  return answer.content[0].text;
}
