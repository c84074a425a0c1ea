/** Analysis over the lake: ready-made statistics (SQL files in ./stats/). See docs/analysis.md. */
export { listStats, getStat, runStat, statSql, type StatInfo, type StatOption, type StatParams } from './stats.ts';
