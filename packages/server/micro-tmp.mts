import { Broker } from '/work/main/packages/server/dist/broker.js';
import { parseRecords } from '/work/main/packages/server/dist/http/record-json.js';
import fs from 'node:fs';
const dir = fs.mkdtempSync('/tmp/micro-');
const b = (Broker as any).open({ dataDir: dir, flushIntervalMs: 1000, checkpointIntervalMs: 60000, retentionCheckIntervalMs: 60000, maxPartitionsPerTopic: 100, maxBatchBytes: 64<<20 });
b.createTopic('default', { name: 'bench', partitions: 4 });
const one = JSON.stringify({ value: 'v'.repeat(98) });
const body = `{"records":[${new Array(1000).fill(one).join(',')}]}`;
function t(label: string, n: number, f: () => any) { const s = process.hrtime.bigint(); for (let i = 0; i < n; i++) f(); const us = Number(process.hrtime.bigint() - s) / 1e3 / n; console.log(label, us.toFixed(1), 'µs'); }
for (let k = 0; k < 3; k++) {
t('JSON.parse', 2000, () => JSON.parse(body));
const parsed = JSON.parse(body);
t('parseRecords', 2000, () => parseRecords(parsed.records, 'text', 'json'));
const recs = parseRecords(parsed.records, 'text', 'json');
let s = process.hrtime.bigint();
for (let i = 0; i < 2000; i++) await b.produce('default', 'bench', recs, { acks: 1 });
console.log('produce', (Number(process.hrtime.bigint() - s) / 1e3 / 2000).toFixed(1), 'µs');
}
await b.close();
