/** Several simulated inverters at once: a plant on 127.0.0.1 ephemeral ports (or given 127.0.0.x addresses). */
import { SimulatedInverter, type SimulatedInverterOptions } from "./inverter";
import { PROFILES } from "./profiles";

export interface PlantMember {
  address: string;
  port: number;
  serial: number;
  susyId: number;
}

export class SimulatedPlant {
  readonly inverters: SimulatedInverter[];

  /** Inverters without a serial get the profile's serial plus their position, so that no two share one. */
  constructor(options: readonly SimulatedInverterOptions[] = [{}]) {
    this.inverters = options.map(
      (o, i) =>
        new SimulatedInverter({
          address: "127.0.0.1",
          port: 0,
          ...o,
          serial: o.serial ?? PROFILES[o.profile ?? "pv"].serial + i,
        }),
    );
  }

  /** Starts every inverter; if one cannot bind, stops the others and rejects. */
  async start(): Promise<PlantMember[]> {
    try {
      await Promise.all(this.inverters.map((inv) => inv.start()));
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this.members();
  }

  async stop(): Promise<void> {
    await Promise.all(this.inverters.map((inv) => inv.stop()));
  }

  members(): PlantMember[] {
    return this.inverters.map((inv) => ({
      address: inv.address,
      port: inv.port,
      serial: inv.serial,
      susyId: inv.susyId,
    }));
  }
}
