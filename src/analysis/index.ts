/** Analysis over the lake: ad-hoc SQL, ready-made statistics (SQL files in ./stats/), exports, saved queries. See docs/analysis.md. */
export { listStats, listStopWords, getStat, runStat, statSql, statRange, rangeOf, parseInstant, type StatInfo, type StatOption, type StatParams } from './stats.ts';
export { AnalysisService, EXPORT_FORMATS, type AnalysisServiceOptions, type ExportFormat, type ExportOptions, type ExportProgress, type RunOptions, type StatSummary } from './service.ts';
export { encodeRows, MEDIA_TYPES, type TextFormat } from './encode.ts';
export { checkSavedQueryInput, SavedQueryNotFoundError, SAVED_QUERY_NAME, type SavedQuery, type SavedQueryInput, type SavedQueryStore } from './saved-queries.ts';
