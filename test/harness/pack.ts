/**
 * The package as users get it: `npm pack` of the working tree (packPackage), and of a clean clone of the committed
 * HEAD with its dependencies installed by npm as on a fresh machine (cleanClone, packCleanClone), once per test process.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "./fixtures";
import { cleanEnv } from "./runtimes";

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`))
        : resolve(stdout),
    );
  });
}

/** A temporary folder removed when the test process exits. */
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `npm pack --pack-destination <tmp>` in dir (npm runs the prepare script first); resolves with the .tgz path. */
async function pack(dir: string): Promise<string> {
  const dest = tempDir("sma-pack-");
  const out = await run("npm", ["pack", "--json", "--pack-destination", dest], dir);
  const parsed = JSON.parse(out.slice(out.indexOf("["))) as { filename?: unknown }[];
  const name = parsed[0]?.filename;
  if (typeof name !== "string") throw new Error("npm pack printed no filename:\n" + out);
  const tgz = path.join(dest, path.basename(name));
  if (!fs.existsSync(tgz)) throw new Error(`npm pack: ${tgz} not found`);
  return tgz;
}

let packed: Promise<string> | undefined;

/** `npm run build` + `npm pack` in the repo root (the working tree, uncommitted changes included). */
export function packPackage(): Promise<string> {
  packed ??= run("npm", ["run", "build"], repoRoot()).then(() => pack(repoRoot()));
  return packed;
}

let clone: Promise<string> | undefined;

/**
 * A git clone of the repository's HEAD in a temporary folder, with `npm ci` run in it (npm's cache first:
 * --prefer-offline), as a contributor or CI gets it. Nothing of the working tree but its commits goes in.
 */
export function cleanClone(): Promise<string> {
  clone ??= (async () => {
    const dir = tempDir("sma-clone-");
    const head = (await run("git", ["rev-parse", "HEAD"], repoRoot())).trim();
    await run("git", ["clone", "--quiet", "--no-checkout", repoRoot(), dir], os.tmpdir());
    await run("git", ["checkout", "--quiet", "--detach", head], dir);
    await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], dir);
    return dir;
  })();
  return clone;
}

let packedClone: Promise<string> | undefined;

/** `npm pack` in the clean clone: the tarball `npm publish` would upload (its prepare script builds it). */
export function packCleanClone(): Promise<string> {
  packedClone ??= cleanClone().then(pack);
  return packedClone;
}
