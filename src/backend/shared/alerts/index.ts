export { KvAlertState, type KvAlertStateOptions } from './state.ts';
export { bucketName as alertBucketName, type AlertRecord } from './keys.ts';
