/**
 * The package's library entry (`require("@speedwire/node-red-sma")`): the Speedwire client, the value table and
 * the simulators, for use outside Node-RED. The Node-RED nodes are loaded by Node-RED from package.json "node-red".
 */
export {
  SpeedwireClient, InverterSession, discover, MeterListener, MeterListenerError, SmaError, parseTargets,
  type ClientOptions, type InverterOptions, type InverterState, type ReadResult, type DiscoverOptions, type DiscoveredDevice,
  type DiscoveryTarget, type MeterListenerOptions, type MeterEvent, type Endpoint, type SmaErrorCode,
  parseTrace, TRACE_LIMITS, type SessionTrace, type TraceEntry, type DeviceClockReading,
  diagnose, meterSteps, stepText, DIAGNOSE_CODES, DIAGNOSE_VERDICTS, DIAGNOSE_TEXT_EN, type Diagnosis, type DiagnoseOptions,
  type DiagnoseStep, type DiagnoseVerdict, type DiagnoseCode, metersHeard, type HeardMeter,
} from "./client";
export {
  VALUES, QUERIES, QUERY_NAMES, OBIS_CHANNELS, SPEEDWIRE_PORT, MULTICAST_GROUP, queriesFor, resolveName, DecodeError,
  type ValueDef, type ValueGroup, type ValueType, type QueryName, type ReadingValue, type Reading, type ObisChannel,
  type MeterDatagram,
} from "./protocol";
export {
  SimulatedInverter, SimulatedPlant, SimulatedMeter, ReplayInverter, houseProfile, compressedDay, PlantModel, plantMeterValues,
  type SimulatedInverterOptions, type SimulatedMeterOptions, type ProfileName, type PlantMember, type PlantSpec, type PlantState,
} from "./simulator";
/** The pure codec (bytes in, values out), for tools that build or parse datagrams themselves. */
export * as protocol from "./protocol";
