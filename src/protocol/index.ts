/** The Speedwire codec: pure functions over Buffers. No sockets, timers or Node-RED. */
export * from "./constants";
export * from "./errors";
export * from "./framing";
export * from "./net2";
export * from "./records";
export * from "./queries";
export * from "./values";
export * from "./tags";
export * from "./requests";
export * from "./answers";
export * from "./archive";
export * from "./archive-days";
export * from "./discovery";
export * from "./obis";
export * from "./meter";
export * from "./clock";
export * from "./encryption";
