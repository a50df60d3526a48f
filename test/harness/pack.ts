/** Builds and packs the package once per test process: the tarball a user would `npm install`. */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "./fixtures";
import { cleanEnv } from "./runtimes";

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout));
  });
}

let packed: Promise<string> | undefined;

/** `npm run build` + `npm pack --pack-destination <tmp>` in the repo root; resolves with the .tgz path. */
export function packPackage(): Promise<string> {
  packed ??= (async () => {
    const root = repoRoot();
    await run("npm", ["run", "build"], root);
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), "sma-pack-"));
    process.on("exit", () => fs.rmSync(dest, { recursive: true, force: true }));
    const out = await run("npm", ["pack", "--json", "--pack-destination", dest], root);
    const parsed = JSON.parse(out.slice(out.indexOf("["))) as { filename?: unknown }[];
    const name = parsed[0]?.filename;
    if (typeof name !== "string") throw new Error("npm pack printed no filename:\n" + out);
    const tgz = path.join(dest, path.basename(name));
    if (!fs.existsSync(tgz)) throw new Error(`npm pack: ${tgz} not found`);
    return tgz;
  })();
  return packed;
}
