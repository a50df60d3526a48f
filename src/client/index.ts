/** Time and state: the shared socket, inverter sessions, discovery and the meter listener. */
export * from "./errors";
export * from "./guard";
export * as rules from "./settings-rules";
export * from "./identity";
export * from "./transport";
export * from "./session";
export * from "./archive-read";
export * from "./client";
export * from "./discovery";
export * from "./interfaces";
export * from "./meter-listener";
export * from "./link";
export * from "./fragments";
export * from "./trace";
export * from "./device-clock";
export * from "./diagnose";
export * from "./diagnose-text";
