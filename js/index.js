// localaik for JavaScript tests: start `localaik serve`, select a cassette per test through its
// control endpoint (`/_localaik/session`), and fail a test whose requests missed in replay.
//
// The test runners' glue is in vitest.js / vitest-setup.js and jest.js / jest-setup.js; this
// module is what they share, and what a custom runner can use directly.
//
// One selection per server holds for every request it answers, so tests that run at the same
// time need servers of their own: the global setups start one server per worker, and each
// worker uses the one its pool id names (VITEST_POOL_ID, JEST_WORKER_ID).

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export const SESSION = "/_localaik/session";
const LISTENING = /listening on (http:\/\/[\d.]+:\d+)/;
const START_TIMEOUT_MS = 30_000;
const MAX_NAME = 120;

/** The `localaik` command: LOCALAIK_BIN, else `localaik` on PATH (an Error saying how to fix). */
export function findLocalaik(env = process.env) {
  if (env.LOCALAIK_BIN) return env.LOCALAIK_BIN;
  for (const dir of (env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "localaik");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    "localaik: the `localaik` command is not on PATH; install it (pip install localaik) " +
      "or set LOCALAIK_BIN to its path",
  );
}

/** Whether CI says this is a CI run, read as localaik reads it (anything but "", false, 0). */
export function isCI(env = process.env) {
  return !["", "false", "0"].includes((env.CI || "").trim().toLowerCase());
}

/**
 * Start `localaik serve` on a free loopback port. `cassettes`: the folder of the cassettes
 * (default `cassettes`); `mode`: the mode (default: LK_MODE, else `replay` when CI is true,
 * else localaik's own). Resolves to `{ url, stop }` once it listens.
 */
export function startServer({ cassettes = "cassettes", mode, env = process.env, bin } = {}) {
  const command = bin || findLocalaik(env);
  const environ = { ...env, LK_CASSETTE: path.resolve(cassettes, "localaik.db") };
  const chosen = mode || env.LK_MODE || (isCI(env) ? "replay" : undefined);
  if (chosen) environ.LK_MODE = chosen;
  // --stop-on-eof: the server ends when this process does (its input is a pipe from here,
  // closed by the system however this process ends: a crash or Ctrl-C skips the teardown).
  const child = spawn(command, ["serve", "--host", "127.0.0.1", "--port", "0", "--stop-on-eof"], {
    env: environ,
    stdio: ["pipe", "ignore", "pipe"],
  });
  child.stdin.on("error", () => {}); // the server gone first: nothing to tell it
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail("did not start in time"), START_TIMEOUT_MS);
    function fail(why) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`localaik serve ${why}:\n${log}`));
    }
    child.on("error", (error) => fail(`could not run ${command} (${error.message})`));
    child.on("exit", (code) => fail(`exited with ${code}`));
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const match = LISTENING.exec(log);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.stderr.removeAllListeners("data");
      child.stderr.resume(); // keep draining its log
      resolve({ url: match[1], stop: () => stopProcess(child) });
    });
  });
}

function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Start `count` servers at once (one per test worker). */
export async function startServers(count, options = {}) {
  return Promise.all(Array.from({ length: Math.max(1, count) }, () => startServer(options)));
}

/** The server of this worker, from the URLs the global setup gave and the worker's pool id. */
export function serverFor(urls, poolId) {
  if (!urls || urls.length === 0) {
    throw new Error("localaik: no server was started; add the localaik global setup");
  }
  const index = (Math.max(1, Number(poolId) || 1) - 1) % urls.length;
  return urls[index];
}

/** Point the three SDKs at `url` (their base-URL environment variables). */
export function pointSdks(url, env = process.env) {
  env.LOCALAIK_URL = url;
  env.GOOGLE_GEMINI_BASE_URL = url;
  env.OPENAI_BASE_URL = `${url}/v1`;
  env.ANTHROPIC_BASE_URL = url;
}

/**
 * The cassette name of a test: its file (relative to `root`) and its titles, in the
 * characters a cassette name may have; a long one is cut and keeps a hash of the whole.
 */
export function cassetteName(file, titles, root = process.cwd()) {
  const relative = path.relative(root, file) || path.basename(file);
  const whole = [relative, ...titles].join("__");
  let name = whole
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/\.{2,}/g, ".")
    .replace(/^[._-]+|[._-]+$/g, "");
  if (name.length > MAX_NAME) {
    const hash = createHash("sha256").update(whole).digest("hex").slice(0, 12);
    name = `${name.slice(0, MAX_NAME - 13)}-${hash}`;
  }
  return `${name || "test"}.db`;
}

async function session(url, init) {
  const response = await fetch(url + SESSION, init);
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`localaik ${SESSION}: ${body.error?.message || response.status}`);
  }
  return body;
}

/** Select what the requests that follow use: `{ cassette, mode, ignore, fault }`. */
export function select(url, selection = {}) {
  return session(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(selection),
  });
}

/** What was replayed, recorded and missed since the selection. */
export function report(url) {
  return session(url, { method: "GET" });
}

/** Throw an Error with the miss texts when the requests since the selection missed. */
export async function check(url) {
  const now = await report(url);
  if (now.missed.length > 0) {
    const texts = now.missed.map((miss) => miss.miss).join("\n\n");
    const error = new Error(`${now.missed.length} request(s) missed in replay:\n${texts}`);
    error.name = "LocalaikMiss";
    throw error;
  }
  return now;
}
