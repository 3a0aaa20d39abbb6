/** A started `localaik serve`. */
export interface Server {
  /** Its base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** Stop it (SIGTERM) and wait for it to exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The folder of the cassettes (default `cassettes`, relative to the working directory). */
  cassettes?: string;
  /** The mode (default: LK_MODE, else `replay` when CI is true, else localaik's own). */
  mode?: "record" | "replay" | "refresh" | "once" | "passthrough";
  /** The environment the server starts with (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The `localaik` command (default: LOCALAIK_BIN, else `localaik` on PATH). */
  bin?: string;
}

/** What `POST /_localaik/session` selects; every field optional. */
export interface Selection {
  cassette?: string;
  mode?: StartOptions["mode"];
  ignore?: string[];
  fault?: string | string[];
}

/** One request answered since the selection. */
export interface Answered {
  method: string;
  path: string;
  operation?: string;
  key?: string;
  ordinal?: number;
  cassette?: string;
  /** A miss's text: what missed, the nearest recordings and what differs. */
  miss?: string;
}

/** What `GET /_localaik/session` reports. */
export interface Report {
  cassette: string | null;
  path: string;
  mode: string;
  ignore: string[];
  fault: string[];
  replayed: Answered[];
  recorded: Answered[];
  missed: Answered[];
  requests: number;
}

export const SESSION: "/_localaik/session";
export function findLocalaik(env?: NodeJS.ProcessEnv): string;
export function isCI(env?: NodeJS.ProcessEnv): boolean;
export function startServer(options?: StartOptions): Promise<Server>;
export function startServers(count: number, options?: StartOptions): Promise<Server[]>;
export function serverFor(urls: string[], poolId: string | number | undefined): string;
export function pointSdks(url: string, env?: NodeJS.ProcessEnv): void;
export function cassetteName(file: string, titles: string[], root?: string): string;
export function select(url: string, selection?: Selection): Promise<Report>;
export function report(url: string): Promise<Report>;
/** Rejects with an Error (name `LocalaikMiss`) holding the miss texts when a request missed. */
export function check(url: string): Promise<Report>;
