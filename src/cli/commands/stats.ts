import { Option, type Command } from 'commander';
import { listStats, runStat, getStat, type StatParams } from '../../analysis/index.ts';
import { dataPaths } from '../../config/index.ts';
import { openLakeQuery } from '../../lake/index.ts';
import { formatResult } from '../../lake/index.ts';
import { formatOption, type OutputFormat } from '../format.ts';
import { configFrom } from './common.ts';

export function registerStats(program: Command): void {
  program
    .command('stats [name]')
    .description('ready-made statistics over the lake; without a name, list them (see docs/analysis.md)')
    .addOption(new Option('--from <iso>', 'start of the period (inclusive; default: the whole lake)'))
    .addOption(new Option('--to <iso>', 'end of the period (exclusive; default: the whole lake)'))
    .addOption(new Option('--cell <degrees>', 'hotspots: grid cell size in degrees (default 0.005)'))
    .addOption(new Option('--minutes <n>', 'silent-drones: silence longer than this many minutes (default 10)'))
    .addOption(new Option('--limit <n>', 'top-* and other ranked statistics: number of rows (default 20)'))
    .addOption(formatOption())
    .action(async (name: string | undefined, o: StatParams & { format: OutputFormat }, cmd: Command) => {
      if (name === undefined) {
        for (const s of listStats()) process.stdout.write(`${s.name}  ${s.description}\n`);
        return;
      }
      getStat(name); // unknown names fail before the lake is opened
      const { format, ...params } = o;
      const lake = await openLakeQuery(dataPaths(configFrom(cmd)).lake);
      try {
        process.stdout.write(formatResult(await runStat(lake, name, params), format));
      } finally {
        await lake.close();
      }
    });
}
