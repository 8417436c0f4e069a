/**
 * In-process storage: Partition.append (encodeBatch, CRC-32C, write) and Partition.read (read,
 * CRC check, decode) of 100 B and 1 KiB records in batches of 1000, each beside a raw sequential
 * fs.writeSync / fs.readSync of the same bytes in the same chunk sizes, on the same file system.
 */
import fs from 'node:fs';
import path from 'node:path';
import { nodeFileSystem } from '../packages/server/src/storage/file-system.js';
import { Partition, type AppendRecord } from '../packages/server/src/partitions/partition.js';
import type { LogConfig } from '../packages/server/src/storage/log.js';
import { crc32cIsNative } from '../packages/server/src/storage/crc32c.js';
import { alternate, compare } from './lib/measure.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const BATCH = 1000;
const READ_MAX_BYTES = 1 << 20;
const READ_MAX_RECORDS = 10_000;

/**
 * Seconds of CPU (user + system) this process used since `from`: on a machine shared with other
 * work, time on the CPU does not grow when the benchmark waits for a core, as wall time does.
 * Both the figure and its raw baseline are timed this way.
 */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

const logConfig: LogConfig = {
  segmentBytes: 1 << 30,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: -1,
  retentionBytes: -1,
  maxBatchBytes: 16 << 20,
};

interface StorageRun {
  appendSeconds: number;
  readSeconds: number;
  readRecords: number;
  bytes: number;
}

function records(size: number): AppendRecord[] {
  const now = Date.now();
  const value = Buffer.alloc(size, 'x');
  return Array.from({ length: BATCH }, () => ({ key: null, value, headers: [], timestamp: now }));
}

/**
 * Appends `batches` batches to a fresh partition, then reads them all back once they are
 * readable (readers stop at the durable end: one fsync, outside both timings, in between).
 */
async function partitionRun(dir: string, batch: AppendRecord[], batches: number): Promise<StorageRun> {
  const partitionDir = path.join(dir, `p-${process.hrtime.bigint()}`);
  const p = Partition.open(nodeFileSystem, partitionDir, 'bench', 0, logConfig, { clean: true });
  try {
    const opts = { compression: 'none' as const, logAppendTime: false };
    let t0 = process.cpuUsage();
    for (let i = 0; i < batches; i++) p.append(batch, opts);
    const appendSeconds = cpuSince(t0);
    const bytes = p.log.sizeBytes;
    await p.flush(p.log.nextOffset);
    t0 = process.cpuUsage();
    let offset = 0;
    let readRecords = 0;
    const end = p.log.nextOffset;
    while (offset < end) {
      const r = p.read(offset, { maxRecords: READ_MAX_RECORDS, maxBytes: READ_MAX_BYTES });
      if (r.nextOffset <= offset) throw new Error(`read at ${offset} made no progress (high watermark ${r.highWatermark}, end ${end})`);
      readRecords += r.records.length;
      offset = r.nextOffset;
    }
    const readSeconds = cpuSince(t0);
    return { appendSeconds, readSeconds, readRecords, bytes };
  } finally {
    void p.close();
    fs.rmSync(partitionDir, { recursive: true, force: true });
  }
}

/** Writes the same bytes in the same chunks with fs.writeSync, then reads them back in READ_MAX_BYTES chunks. */
function rawRun(dir: string, chunkBytes: number, chunks: number): StorageRun {
  const file = path.join(dir, `raw-${process.hrtime.bigint()}`);
  const chunk = Buffer.alloc(chunkBytes, 'x');
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  try {
    let t0 = process.cpuUsage();
    let pos = 0;
    for (let i = 0; i < chunks; i++) pos += fs.writeSync(fd, chunk, 0, chunkBytes, pos);
    const appendSeconds = cpuSince(t0);
    t0 = process.cpuUsage();
    const buf = Buffer.allocUnsafe(READ_MAX_BYTES);
    let read = 0;
    // a fresh buffer per read, as Partition.read allocates one per fetch
    while (read < pos) read += fs.readSync(fd, Buffer.allocUnsafe(READ_MAX_BYTES), 0, buf.length, read);
    const readSeconds = cpuSince(t0);
    return { appendSeconds, readSeconds, readRecords: 0, bytes: pos };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = ctx.tempDir('storage');
  const rows: BenchRow[] = [];
  const sizes: Array<{ label: string; size: number; totalRecords: number }> = [
    { label: '100 B', size: 100, totalRecords: ctx.quick ? 100_000 : 500_000 },
    { label: '1 KiB', size: 1024, totalRecords: ctx.quick ? 20_000 : 100_000 },
  ];
  for (const { label, size, totalRecords } of sizes) {
    const batch = records(size);
    const batches = totalRecords / BATCH;
    // the raw baseline writes chunks of exactly one encoded batch
    const probe = await partitionRun(dir, batch, 1);
    const batchBytes = probe.bytes;
    await partitionRun(dir, batch, Math.min(batches, 50)); // warm up the code paths
    const webka: StorageRun[] = [];
    const raw: StorageRun[] = [];
    await alternate(
      ctx,
      () => {
        raw.push(rawRun(dir, batchBytes, batches));
        return 0;
      },
      async () => {
        webka.push(await partitionRun(dir, batch, batches));
        return 0;
      },
    );
    ctx.log(`${label}: ${batches} batches of ${batchBytes} bytes`);
    const perRecord = batchBytes / BATCH;
    const appendRecs = webka.map((r) => totalRecords / r.appendSeconds);
    const rawRecs = raw.map((r) => r.bytes / perRecord / r.appendSeconds);
    if (size === 100) {
      rows.push(compare({ name: `append ${label} records, batches of ${BATCH}`, unit: 'records/s', runs: appendRecs, baselineName: 'raw fs.writeSync, same bytes+chunks', baselineRuns: rawRecs, min: 1_000_000 }));
    } else {
      const mb = (r: StorageRun): number => r.bytes / r.appendSeconds / 1e6;
      rows.push(compare({ name: `append ${label} records, batches of ${BATCH}`, unit: 'MB/s', runs: webka.map(mb), baselineName: 'raw fs.writeSync, same bytes+chunks', baselineRuns: raw.map(mb), minRatio: 0.6 }));
      rows.push(compare({ name: `append ${label} records (records/s)`, unit: 'records/s', runs: appendRecs }));
    }
    const readRecs = webka.map((r) => r.readRecords / r.readSeconds);
    const rawReadRecs = raw.map((r) => r.bytes / perRecord / r.readSeconds);
    rows.push(
      compare({
        name: `read (fetch) ${label} records, 1 MiB reads`,
        unit: 'records/s',
        runs: readRecs,
        baselineName: 'raw fs.readSync, same bytes, 1 MiB',
        baselineRuns: rawReadRecs,
        min: size === 100 ? 1_500_000 : undefined,
      }),
    );
  }
  ctx.note(`append-read: in process, one partition, page cache (no fsync), per second of CPU time (user+system) of the benchmark process: Partition.append = encodeBatch + CRC-32C (${crc32cIsNative ? 'native @node-rs/crc32' : 'portable tables'}) + write; Partition.read = read + CRC check + decode to record objects. Baselines are in records/s of the same bytes.`);
  return rows;
}
