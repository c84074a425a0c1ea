/** The `notifications` section of the configuration (src/config/schema.ts holds the defaults, once). */
export interface NotifyConfig {
  /** Length of one policy "minute" in ms: 60000; tests and demos shorten it to see escalations in seconds. */
  minuteMs: number;
  /** How often each alert worker looks for pages whose repeat or escalation is due. */
  tickMs: number;
  /** Delivery log entries and pages are forgotten after this long. */
  retentionHours: number;
  /** At most this many delivery log entries per tenant (the newest). */
  maxDeliveries: number;
  /** Attempts per notification, the first included; the delay doubles from baseDelayMs up to maxDelayMs. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Policy target URLs must be under one of these (urlUnderPrefix); empty: any http(s) URL. */
  allowedUrlPrefixes: readonly string[];
}
