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

export declare const SESSION: "/_localaik/session";
export declare function findLocalaik(env?: NodeJS.ProcessEnv): string;
export declare function isCI(env?: NodeJS.ProcessEnv): boolean;
export declare function startServer(options?: StartOptions): Promise<Server>;
export declare function startServers(count: number, options?: StartOptions): Promise<Server[]>;
export declare function serverFor(urls: string[], poolId: string | number | undefined): string;
export declare function pointSdks(url: string, env?: NodeJS.ProcessEnv): void;
export declare function cassetteName(file: string, titles: string[], root?: string): string;
export declare function select(url: string, selection?: Selection): Promise<Report>;
export declare function report(url: string): Promise<Report>;
/** Rejects with an Error (name `LocalaikMiss`) holding the miss texts when a request missed. */
export declare function check(url: string): Promise<Report>;
