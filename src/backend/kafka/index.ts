export { KafkaStream, type KafkaStreamOptions } from './stream.ts';
export { kafkaBrokers } from './url.ts';
export { DEPLOYMENT_SCOPE } from './names.ts';
