/** Runs `scripts/start.js` (what `npm start` runs after the build) with its own user dir and editor port. */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "./fixtures";
import { cleanEnv } from "./runtimes";

export interface Demo {
  url: string;
  port: number;
  output(): string;
  /** SIGINT, as Ctrl-C; SIGKILL after 20 s. Resolves with the exit code. */
  stop(): Promise<number | null>;
}

const READY = /Open (http:\/\/127\.0\.0\.1:(\d+)\/) and watch the Debug sidebar/;

export async function startDemo(userDir: string, port: number, args: string[] = [], timeoutMs = 90_000): Promise<Demo> {
  const child = spawn(
    process.execPath,
    [path.join(repoRoot(), "scripts", "start.js"), "--user-dir", userDir, "--port", String(port), ...args],
    { cwd: repoRoot(), env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve((code = c))));
  const kill = (): void => void (code === undefined && child.kill("SIGKILL"));
  process.once("exit", kill);
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the demo did not come up within ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (b: Buffer): void => {
      out += b.toString("utf8");
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((c) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${c}) before it was ready:\n${out}`));
    });
  });
  const m = await ready.catch(async (e: unknown) => {
    kill();
    await exited;
    throw e;
  });
  return {
    url: m[1],
    port: Number(m[2]),
    output: () => out,
    stop: async () => {
      if (code === undefined) child.kill("SIGINT");
      const timer = setTimeout(kill, 20_000);
      const c = await exited;
      clearTimeout(timer);
      process.removeListener("exit", kill);
      return c;
    },
  };
}
