export { NatsStream, type NatsStreamOptions } from './stream.ts';
