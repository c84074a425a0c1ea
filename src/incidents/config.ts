import type { Config } from '../config/schema.ts';

/** The grouping parameters in the units the code uses (the `incidents` config section is in metres and minutes). */
export interface GroupingConfig {
  radiusM: number;
  windowMs: number;
  growthWindowMs: number;
  growingCitizensPerMinute: number;
  criticalCitizens: number;
}

export function groupingConfig(c: Config['incidents']): GroupingConfig {
  return {
    radiusM: c.radiusMeters,
    windowMs: c.windowMinutes * 60_000,
    growthWindowMs: c.growthWindowMinutes * 60_000,
    growingCitizensPerMinute: c.growingCitizensPerMinute,
    criticalCitizens: c.criticalCitizens,
  };
}
