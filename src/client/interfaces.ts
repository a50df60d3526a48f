/** The host's IPv4 interfaces: for the editor's pickers, and where multicast is sent and joined. */
import * as os from "node:os";

export interface Ipv4Interface {
  name: string;
  address: string;
  internal: boolean;
}

/** Every IPv4 interface; with external, loopback and other internal ones are left out. */
export function ipv4Interfaces(opts: { external?: boolean } = {}): Ipv4Interface[] {
  return Object.entries(os.networkInterfaces()).flatMap(([name, list]) =>
    (list ?? [])
      .filter((i) => i.family === "IPv4" && !(opts.external && i.internal))
      .map((i) => ({ name, address: i.address, internal: i.internal })),
  );
}
