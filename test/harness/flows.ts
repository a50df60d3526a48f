/** Flow JSON builders for tests, the soak script and the bench: nodes as the editor would save them. */

type Json = Record<string, unknown>;

/** A flow node on tab `tab` (position is irrelevant to the runtime). */
export function node(tab: string, o: Json): Json {
  return { z: tab, x: 100, y: 100, ...o };
}

/** An sma-inverter config node for a simulator on 127.0.0.1:port; `password` goes into its credentials. */
export function inverterNode(id: string, port: number, password: string, o: Json = {}): Json {
  return {
    id,
    type: "sma-inverter",
    name: `inverter ${id}`,
    host: "127.0.0.1",
    port: String(port),
    serial: "",
    group: "user",
    timeout: "500",
    retries: "1",
    credentials: { password },
    ...o,
  };
}

/** An inject wired to `target`; with `repeat` (seconds) it also fires once shortly after deploy. */
export function inject(tab: string, id: string, target: string, repeat = ""): Json {
  return node(tab, {
    id,
    type: "inject",
    props: [{ p: "payload" }],
    payload: "",
    payloadType: "date",
    repeat,
    once: repeat !== "",
    onceDelay: 0.05,
    wires: [[target]],
  });
}

/** A debug node showing the whole message ("true") or one property (e.g. "error"). */
export function debug(tab: string, id: string, complete = "true"): Json {
  return node(tab, {
    id,
    type: "debug",
    active: true,
    tosidebar: true,
    console: false,
    complete,
    targetType: complete === "true" ? "full" : "msg",
    wires: [],
  });
}

/**
 * A tab polling each simulator on `ports` every 0.1 s with sma-spot-ac (`<prefix>ac<k>`) and sma-energy
 * (`<prefix>en<k>`), and a catch node into the debug `<prefix>catchdbg`. Round `i` sets each config node's
 * timeout to a value of its own, so that a "nodes" deploy of round i restarts every node.
 */
export function pollingFlows(
  tab: string,
  prefix: string,
  ports: number[],
  password: string,
  i: number,
  inverter: Json = {},
): Json[] {
  return [
    { id: tab, type: "tab", label: tab },
    ...ports.flatMap((port, k) => [
      inverterNode(`${prefix}inv${k}`, port, password, { timeout: String(1000 + ((i + 100) % 50)), ...inverter }),
      inject(tab, `${prefix}injac${k}`, `${prefix}ac${k}`, "0.1"),
      node(tab, { id: `${prefix}ac${k}`, type: "sma-spot-ac", inverter: `${prefix}inv${k}`, topic: "", wires: [[]] }),
      inject(tab, `${prefix}injen${k}`, `${prefix}en${k}`, "0.1"),
      node(tab, { id: `${prefix}en${k}`, type: "sma-energy", inverter: `${prefix}inv${k}`, topic: "", wires: [[]] }),
    ]),
    node(tab, { id: `${prefix}catch`, type: "catch", scope: null, uncaught: false, wires: [[`${prefix}catchdbg`]] }),
    debug(tab, `${prefix}catchdbg`, "error"),
  ];
}

/** The reader ids of pollingFlows (each must show a fresh green status after a redeploy). */
export function pollingReaders(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, k) => [`${prefix}ac${k}`, `${prefix}en${k}`]).flat();
}
