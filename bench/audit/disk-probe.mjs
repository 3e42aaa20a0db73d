#!/usr/bin/env node
/**
 * The disk's own fsync latency, the baseline of the audit benchmark's ack-latency rows
 * (an ack waits for the spool's O_DSYNC write, so it can be no better than the disk).
 * In its own process, so the service's and the producer's event loops do not count:
 * every 20 ms, writes 700 bytes (about one spooled event) with O_DSYNC over a 1 MiB file
 * it wrote first, as the spool writes over its recycled segments; when its stdin closes,
 * prints one JSON line {n, p50, p99, max, over50} (milliseconds; over50: writes that took
 * longer than 50 ms) and removes the file.
 *
 *   node bench/audit/disk-probe.mjs FILE
 */
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: disk-probe.mjs FILE');
const SIZE = 1 << 20;
const RECORD = Buffer.alloc(700, 0x61);
const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC, 0o600);
writeSync(fd, Buffer.alloc(SIZE), 0, SIZE, 0);

const took = [];
let position = 0;
const timer = setInterval(() => {
  const start = performance.now();
  writeSync(fd, RECORD, 0, RECORD.length, position);
  took.push(performance.now() - start);
  position = (position + RECORD.length) % (SIZE - RECORD.length);
}, 20);

process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(timer);
  closeSync(fd);
  rmSync(path, { force: true });
  took.sort((a, b) => a - b);
  const at = (p) => took[Math.min(took.length - 1, Math.floor(p * took.length))] ?? 0;
  process.stdout.write(`${JSON.stringify({ n: took.length, p50: at(0.5), p99: at(0.99), max: took.at(-1) ?? 0, over50: took.filter((ms) => ms > 50).length })}\n`);
});
