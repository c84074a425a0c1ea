/** The stream's contract (interface, topics, errors). Implementations are backends: src/backend/{sqlite,nats,kafka}/. */
export * from './types.ts';
export { TOPICS, DEFAULT_TOPIC_CONFIG } from './topics.ts';
export { StreamNotOwnerError, StreamUnavailableError } from './errors.ts';
