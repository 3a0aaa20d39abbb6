// Ten tests of one replayed openai call each (five files of them: the 50-call suite whose time
// the README gives, `tests/sdk/test_js_helpers.py::test_fifty_replayed_calls`).
import { expect, test } from "vitest";
import { askOpenai } from "../sdk_calls.js";

export function tenTests(file) {
  for (let n = 1; n <= 10; n += 1) {
    test(`call ${n}`, async () => {
      expect(await askOpenai(`Count to ${n} (file ${file})`)).toBeTruthy();
    });
  }
}
