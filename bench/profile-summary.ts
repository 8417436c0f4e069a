/**
 * Where the time went, from a V8 .cpuprofile (node --cpu-prof): self time per function, total
 * (inclusive) time per function, and total time per source file (a sample counts once for
 * every file on its stack), top N of each.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [N]
 */
import fs from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: Node): string => {
  const f = n.callFrame;
  const where = f.url ? `${path.basename(f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

const fileOf = (n: Node): string => {
  const url = n.callFrame.url;
  if (!url) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return m ? `npm:${m[1]}` : url.replace(/^file:\/\//, '').replace(/^.*\/packages\//, '');
};

const self = new Map<string, number>();
const total = new Map<string, number>();
const files = new Map<string, number>();
let all = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  all += dt;
  let n = byId.get(prof.samples[i]);
  if (n === undefined) continue;
  self.set(label(n), (self.get(label(n)) ?? 0) + dt);
  const seen = new Set<string>();
  const seenFiles = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    n = byId.get(id)!;
    const l = label(n);
    const f = fileOf(n);
    if (!seenFiles.has(f)) {
      seenFiles.add(f);
      files.set(f, (files.get(f) ?? 0) + dt);
    }
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
}
const print = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title} (of ${(all / 1e3).toFixed(0)} ms sampled)\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((v / all) * 100).toFixed(1).padStart(6)}%  ${k}\n`);
  }
};
print('self time', self);
print('total time', total);
print('total time by file', files);
