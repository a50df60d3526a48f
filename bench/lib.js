// Small helpers of the bench: statistics, /proc readings, loopback ports, a keep-alive HTTP client.
"use strict";
const dgram = require("node:dgram");
const fs = require("node:fs");
const http = require("node:http");
const { execFileSync } = require("node:child_process");

/** The middle value (upper middle for an even count). */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Nearest-rank quantile, q in 0..1. */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

let clkTck;
/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat). */
function clockTicks() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3 (state); utime is 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicks();
}

/** CPU of pid in % of one core over windowMs (wall time measured with the monotonic clock). */
async function cpuPercent(pid, windowMs) {
  const c0 = cpuMs(pid);
  const t0 = nowMs();
  await sleep(windowMs);
  const c1 = cpuMs(pid);
  return ((c1 - c0) / (nowMs() - t0)) * 100;
}

/** A UDP port free on 127.0.0.1 right now (bind 0, read, close). */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** GET url over one kept-alive connection; resolves with { status, body }. */
function httpClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (url) =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("error", reject);
    });
  return { get, close: () => agent.destroy() };
}

/** Machine description for the table: CPU count and model, Node version. */
function machine() {
  let model = "unknown CPU";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) model = m[1].trim();
  } catch {
    // not Linux
  }
  return `${require("node:os").cpus().length} × ${model}, Node ${process.version}`;
}

module.exports = { median, quantile, sleep, nowMs, cpuMs, cpuPercent, freeUdpPort, httpClient, machine };
