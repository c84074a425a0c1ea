/** The drone fleet simulator: reports as a real fleet would send them, deterministic for a seed. See docs/simulator.md. */
export { Fleet, REPORT_INTERVAL_MS } from './fleet.ts';
export { runSimulator, type RunSimulatorOptions, type SimulatorMode, type SimulatorProgress, type ReportSink } from './runner.ts';
export { httpSink, SinkFailedError, type HttpSinkOptions } from './http-sink.ts';
export { mqttSink, type MqttReportSink, type MqttSinkOptions } from './mqtt-sink.ts';
export { FLEET_DEFAULTS, PARIS_BBOX, resolveFleetOptions, type BBox, type FleetOptions, type ResolvedFleetOptions } from './options.ts';
export type { Population, Hotspot } from './population.ts';
export { ORDINARY_WORDS, RIOT_WORDS } from './vocabulary.ts';
