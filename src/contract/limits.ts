/** Limits of report format v1. The JSON Schema (schema/report.v1.json) states the same numbers. */
export const REPORT_LIMITS = {
  droneIdMaxLength: 64,
  maxCitizens: 50,
  citizenNameMaxLength: 200,
  scoreMin: 0,
  scoreMax: 100,
  maxWords: 200,
  wordMaxLength: 64,
} as const;

/** Largest report accepted, in bytes (of the report as sent, or as re-serialised for array elements). */
export const DEFAULT_MAX_REPORT_BYTES = 64 * 1024;

/** How far in the future a timestamp may be: drones' clocks drift, but not by hours. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** An invalid report yields at most this many field errors (the last one then says that more were left out). */
export const MAX_FIELD_ERRORS = 100;

/**
 * Arrays and objects inside each other at most this deep in one report (a valid report nests 3: the report, `citizens`,
 * a citizen). Checked on the text before it is parsed, so nothing recursive ever sees deeper input (docs/report-format.md).
 */
export const MAX_NESTING_DEPTH = 32;
