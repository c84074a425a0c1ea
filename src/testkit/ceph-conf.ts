/**
 * ceph.conf of a throw-away single-host test cluster (one mon, optional mgr, one OSD, one radosgw) whose state,
 * sockets and logs all live under one directory. Each non-obvious setting is here because its absence was hit
 * (docs/object-store.md, "Testing against Ceph", lists the pitfalls).
 */

export type OsdStore = 'memstore' | 'bluestore';

export interface CephConfInput {
  dir: string;
  fsid: string;
  monV2Port: number;
  monV1Port: number;
  rgwPort: number;
  osdStore: OsdStore;
  /** memstore capacity, or size of bluestore's sparse block file. */
  osdBytes: number;
}

export function monAddrs(c: Pick<CephConfInput, 'monV2Port' | 'monV1Port'>): string {
  return `[v2:127.0.0.1:${c.monV2Port},v1:127.0.0.1:${c.monV1Port}]`;
}

export function cephConf(c: CephConfInput): string {
  const d = c.dir;
  return `[global]
fsid = ${c.fsid}
mon host = ${monAddrs(c)}
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
# no cephx: a throw-away cluster bound to loopback only
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
# radosgw defaults to "secure" mon client mode, which auth = none cannot do: rgw would hang
# ("get_initial_auth_request returned -13")
ms mon client mode = crc
ms client mode = crc
# fail fast instead of waiting 300 s for a mon
client mount timeout = 30
run dir = ${d}/run
admin socket = ${d}/run/$cluster-$name.asok
pid file = ${d}/run/$cluster-$name.pid
log file = ${d}/log/$cluster-$name.log
log to stderr = false
err to stderr = true
crash dir = ${d}/crash
# one OSD: replica size 1, small PG counts (rgw creates ~6 pools), OSD-level failure domain;
# chooseleaf type must be set before the monitor is created
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# map commits every 0.1 s instead of 1 s: each pool creation drops from ~1.1 s to ~0.2 s
paxos propose interval = 0.1
paxos min wait = 0.01

[mon]
mon data = ${d}/mon/$cluster-$id
mon cluster log file = ${d}/log/$cluster.log

[mgr]
mgr data = ${d}/mgr/$cluster-$id

[osd]
osd data = ${d}/osd/$cluster-$id
osd objectstore = ${c.osdStore}
memstore device bytes = ${c.osdBytes}
bluestore block path = ${d}/osd/$cluster-$id/block.file
bluestore block create = true
bluestore block size = ${c.osdBytes}
bluestore fsck on mount = false
osd memory target = 1073741824
osd max object name len = 460
osd max object namespace len = 64

[client.rgw.a]
rgw data = ${d}/rgw/$cluster-$id
rgw frontends = beast endpoint=127.0.0.1:${c.rgwPort}
rgw dns name = localhost
# lifecycle threads make a SIGTERM shutdown take ~10 s; tests do not need lifecycle expiry
rgw enable lc threads = false
`;
}
