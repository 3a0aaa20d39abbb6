import { expect, test } from "vitest";
import { askOpenai } from "../sdk_calls.js";

// A second file, so that two workers (two servers) run at once.
test("a second file's openai call", async () => {
  expect(await askOpenai(`${process.env.PROMPT || "Say hello"} from another file`)).toBeTruthy();
});
