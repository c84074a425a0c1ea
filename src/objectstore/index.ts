/**
 * Object stores for the lake: one small interface (atomic whole-object put, put-if-absent, get whole / range / to a
 * file, head, paginated list by prefix, delete), on the local file system (the embedded default), on S3 / Ceph
 * RGW, or on HDFS through WebHDFS. See docs/object-store.md.
 */
export type { ObjectStore, ObjectInfo, ListOptions, ListPage, PutOptions } from './types.ts';
export { LocalObjectStore } from './local.ts';
export { S3ObjectStore } from './s3-lazy.ts';
export type { IncompleteUpload } from './s3-uploads.ts';
export type { S3ObjectStoreOptions, S3Credentials } from './s3-config.ts';
export { WebHdfsObjectStore } from './webhdfs.ts';
export { DEFAULT_WEBHDFS_PORT, type WebHdfsObjectStoreOptions } from './webhdfs-config.ts';
export {
  openObjectStore, parseLakeLocation, formatLakeLocation, defaultLakeLocation, type LakeLocation, type OpenObjectStoreOptions,
} from './location.ts';
export { listAll } from './list-all.ts';
export { compareKeys, checkKey } from './keys.ts';
export { ObjectStoreError, ObjectStoreRequestError, LakeLocationError } from './errors.ts';
