#!/usr/bin/env node
/**
 * sma-speedwire: tools for one inverter from the command line. `trace` reads every value group once and writes the
 * session's trace (no password in it) for a bug report; `sma-speedwire-sim --replay` serves it back.
 * Subcommands are rows of COMMANDS (a `diagnose` goes beside `trace`).
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { SpeedwireClient } from "../client/client";
import { SmaError } from "../client/errors";
import { QUERY_NAMES, SPEEDWIRE_PORT, type UserGroupName } from "../protocol";
import { INVERTER_SERIAL, PORT } from "../client/settings-rules";

interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const GENERAL = `Usage: sma-speedwire <command> [options]

Commands:
  trace HOST    read every value group of one inverter once and write the exchange to a file (no password in it)

The password comes from the environment variable SMA_PASSWORD or is asked for (never on the command line).
sma-speedwire <command> --help shows a command's options.
`;

const TRACE_USAGE = `Usage: sma-speedwire trace HOST [options]

Logs in, reads every value group the device has, logs off and writes the trace (datagrams with times, directions
and packet ids; password bytes replaced) as JSON. sma-speedwire-sim --replay FILE serves it as a device.

  --port N            UDP port of the inverter (default ${SPEEDWIRE_PORT})
  --serial N          serial number (only this device answers)
  --group G           user | installer (default user)
  --out FILE          where to write the trace (default trace.json)
  --timeout MS        ms per attempt (default 1500)
  -h, --help          this text

Password: environment variable SMA_PASSWORD, else asked for (not shown while typed).
`;

function whole(raw: string | undefined, name: string, range: { min: number; max: number }): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < range.min || n > range.max) throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max}`);
  return n;
}

class UsageError extends Error {}

/** The password from SMA_PASSWORD, or asked on the terminal without echo (or read as one line from a pipe). */
export async function readPassword(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.SMA_PASSWORD !== undefined) return env.SMA_PASSWORD;
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = "";
    for await (const chunk of stdin) {
      text += String(chunk);
      if (text.includes("\n")) break;
    }
    return text.split(/\r?\n/)[0];
  }
  process.stderr.write("Inverter password: ");
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (err?: Error): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (s: string): void => {
      for (const ch of s) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new UsageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}

const trace: Command = {
  usage: TRACE_USAGE,
  async run(argv) {
    const { values: a, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        port: { type: "string" }, serial: { type: "string" }, group: { type: "string", default: "user" },
        out: { type: "string", default: "trace.json" }, timeout: { type: "string" }, help: { type: "boolean", short: "h", default: false },
      },
    });
    if (a.help) {
      process.stdout.write(TRACE_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("give one HOST");
    if (a.group !== "user" && a.group !== "installer") throw new UsageError("--group must be user or installer");
    const host = positionals[0];
    const password = await readPassword();
    const client = new SpeedwireClient();
    const session = client.inverter({
      host, password, group: a.group as UserGroupName, port: whole(a.port, "port", PORT), serial: whole(a.serial, "serial", INVERTER_SERIAL),
      timeoutMs: whole(a.timeout, "timeout", { min: 1, max: 60_000 }),
    });
    let code = 0;
    try {
      const r = await session.read(QUERY_NAMES);
      const n = Object.values(r.values).filter((v) => v !== null).length;
      process.stdout.write(`read ${n} values from ${r.device.serial}; ${r.unsupported.length} value groups not on this device\n`);
    } catch (e) {
      // The trace of a failed read is what a bug report needs most: write it all the same.
      process.stderr.write(`sma-speedwire: read failed: ${e instanceof SmaError ? `${e.code}: ` : ""}${e instanceof Error ? e.message : String(e)}\n`);
      code = 1;
    }
    await session.close();
    const t = session.trace();
    await client.close();
    fs.writeFileSync(a.out, JSON.stringify(t, null, 1) + "\n");
    process.stdout.write(`wrote ${t.entries.length} datagrams to ${a.out}\n`);
    return code;
  },
};

export const COMMANDS: Record<string, Command> = { trace };

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(GENERAL);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command ${name}\n\n${GENERAL}`);
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
      throw new UsageError(`${e.message}\n\n${cmd.usage}`);
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (e: unknown) => {
    process.stderr.write(`sma-speedwire: ${e instanceof Error ? e.message : String(e)}\n`);
    if (!(e instanceof UsageError)) process.stderr.write("\n" + GENERAL);
    process.exitCode = 2;
  });
}
