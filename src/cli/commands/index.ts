import type { Command } from 'commander';
import { registerAlerts } from './alerts.ts';
import { registerIncidents } from './incidents.ts';
import { registerRules } from './rules.ts';
import { registerNotify } from './notify.ts';
import { registerDeadLetters } from './dead-letters.ts';
import { registerLake } from './lake.ts';
import { registerSimulate } from './simulate.ts';
import { registerAnalysis } from './analysis.ts';
import { registerSecurity } from './security.ts';
import { registerAudit } from './audit.ts';
import { registerStream } from './stream.ts';
import { registerUp } from './up.ts';
import { registerWorkers } from './workers.ts';
import { registerSpark } from './spark.ts';

export function registerCommands(program: Command): void {
  registerUp(program);
  registerSimulate(program);
  registerAlerts(program);
  registerIncidents(program);
  registerRules(program);
  registerNotify(program);
  registerWorkers(program);
  registerLake(program);
  registerDeadLetters(program);
  registerStream(program);
  registerAnalysis(program);
  registerSecurity(program);
  registerAudit(program);
  registerSpark(program);
}
