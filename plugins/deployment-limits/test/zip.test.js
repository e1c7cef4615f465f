'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { readCentralDirectory, ZipReadError } = require('../lib/zip');
const zips = require('../fixtures/zips');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-zip-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('lists names and sizes of an ordinary archive', () => {
  const file = zips.writeZip(path.join(dir, 'plain.zip'), { 'handlers/a.py': 'x = 1\n', 'README': 'hello' });
  const listing = readCentralDirectory(file);
  assert.deepEqual(
    listing.entries.map(({ name, uncompressedSize, isDirectory }) => ({ name, uncompressedSize, isDirectory })),
    [
      { name: 'handlers/a.py', uncompressedSize: 6, isDirectory: false },
      { name: 'README', uncompressedSize: 5, isDirectory: false },
    ]
  );
  assert.equal(listing.unzippedBytes, 11);
  assert.equal(listing.zippedBytes, fs.statSync(file).size);
});

test('reads an archive that ends with a comment', () => {
  const file = zips.writeZip(path.join(dir, 'comment.zip'), { a: 'abc' }, { comment: 'built by test' });
  assert.equal(readCentralDirectory(file).unzippedBytes, 3);
});

test('measures a zip bomb of a few kilobytes past 250 MB without unpacking it', () => {
  const { file, unzippedBytes } = zips.writeZipBomb(path.join(dir, 'bomb.zip'));
  const listing = readCentralDirectory(file);
  assert.ok(listing.zippedBytes < 16 * 1024, `fixture is ${listing.zippedBytes} bytes`);
  assert.equal(listing.unzippedBytes, unzippedBytes);
  assert.ok(listing.unzippedBytes > 262144000);
});

test('takes zip64 sizes from the extra field', () => {
  const listing = readCentralDirectory(zips.writeZip64Claim(path.join(dir, 'z64.zip')));
  assert.equal(listing.unzippedBytes, 5 * 1024 ** 3);
});

test('names the file and the cause when the archive is missing, not a zip, or truncated', () => {
  const missing = path.join(dir, 'nope.zip');
  assert.throws(() => readCentralDirectory(missing), (error) => {
    assert.ok(error instanceof ZipReadError);
    assert.equal(error.message, `cannot read ${missing}: file does not exist`);
    return true;
  });

  const text = path.join(dir, 'text.zip');
  fs.writeFileSync(text, 'this is not a zip archive at all, just text');
  assert.throws(() => readCentralDirectory(text), /text\.zip: no end-of-central-directory record/);

  const whole = fs.readFileSync(zips.writeZip(path.join(dir, 'whole.zip'), { a: 'x'.repeat(1000), b: 'y' }));
  const truncated = path.join(dir, 'truncated.zip');
  // drop the first bytes: the end record survives, but points before the start of the file
  fs.writeFileSync(truncated, whole.subarray(40));
  assert.throws(() => readCentralDirectory(truncated), /truncated\.zip: central directory .* truncated or corrupt|truncated\.zip: central directory entry 1 of 2 is corrupt/);

  const empty = path.join(dir, 'empty.zip');
  fs.writeFileSync(empty, '');
  assert.throws(() => readCentralDirectory(empty), /empty\.zip: 0 bytes is too short/);
});
