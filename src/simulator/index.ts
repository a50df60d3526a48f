/** The Speedwire simulators: inverters (one or a plant) and the energy meter / Home Manager. */
export * from "./inverter";
export * from "./profiles";
export * from "./plant";
export * from "./meter";
export * from "./archive";
export * from "./clock";
export * from "./replay";
export * from "./energy";
export * from "./partners";
