'use strict';

// Reads a zip archive's central directory without extracting anything, so a package that
// claims gigabytes (a zip bomb, or just a huge layer) is measured from a few kilobytes of
// metadata. Supports zip64 and archive comments.

const fs = require('fs');

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_MIN_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const CENTRAL_HEADER_SIZE = 46;
const ZIP64_EXTRA_ID = 0x0001;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

class ZipReadError extends Error {
  constructor(file, cause) {
    super(`cannot read ${file}: ${cause}`);
    this.name = 'ZipReadError';
    this.file = file;
    this.reason = cause;
  }
}

function readAt(fd, position, length) {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

function findEndOfCentralDirectory(fd, fileSize, file) {
  if (fileSize < EOCD_MIN_SIZE) {
    throw new ZipReadError(file, `${fileSize} bytes is too short to be a zip archive`);
  }
  const tailLength = Math.min(fileSize, EOCD_MIN_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = readAt(fd, tailStart, tailLength);
  for (let i = tail.length - EOCD_MIN_SIZE; i >= 0; i -= 1) {
    if (tail.readUInt32LE(i) !== EOCD_SIGNATURE) continue;
    const commentLength = tail.readUInt16LE(i + 20);
    if (i + EOCD_MIN_SIZE + commentLength !== tail.length) continue;
    return { offset: tailStart + i, record: tail.subarray(i, i + EOCD_MIN_SIZE) };
  }
  throw new ZipReadError(file, 'no end-of-central-directory record (not a zip, or truncated)');
}

function readZip64End(fd, eocdOffset, file) {
  if (eocdOffset < ZIP64_LOCATOR_SIZE) return null;
  const locator = readAt(fd, eocdOffset - ZIP64_LOCATOR_SIZE, ZIP64_LOCATOR_SIZE);
  if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) return null;
  const recordOffset = Number(locator.readBigUInt64LE(8));
  const record = readAt(fd, recordOffset, 56);
  if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) {
    throw new ZipReadError(file, 'zip64 end-of-central-directory record is missing or corrupt');
  }
  return {
    entryCount: Number(record.readBigUInt64LE(32)),
    size: Number(record.readBigUInt64LE(40)),
    offset: Number(record.readBigUInt64LE(48)),
  };
}

function applyZip64Extra(entry, extra, file) {
  let pos = 0;
  while (pos + 4 <= extra.length) {
    const id = extra.readUInt16LE(pos);
    const size = extra.readUInt16LE(pos + 2);
    const body = extra.subarray(pos + 4, pos + 4 + size);
    pos += 4 + size;
    if (id !== ZIP64_EXTRA_ID) continue;
    let field = 0;
    const next = (what) => {
      if (field + 8 > body.length) {
        throw new ZipReadError(file, `zip64 extra field of ${entry.name} lacks the ${what}`);
      }
      const value = Number(body.readBigUInt64LE(field));
      field += 8;
      return value;
    };
    if (entry.uncompressedSize === U32_MAX) entry.uncompressedSize = next('uncompressed size');
    if (entry.compressedSize === U32_MAX) entry.compressedSize = next('compressed size');
    if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = next('header offset');
    return;
  }
}

/**
 * Lists a zip archive from its central directory.
 * @param {string} file path of the archive
 * @returns {{file: string, zippedBytes: number, unzippedBytes: number,
 *   entries: Array<{name: string, compressedSize: number, uncompressedSize: number,
 *   mode: number, isDirectory: boolean}>}}
 */
function readCentralDirectory(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new ZipReadError(file, error.code === 'ENOENT' ? 'file does not exist' : error.message);
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    const eocd = findEndOfCentralDirectory(fd, fileSize, file);
    let entryCount = eocd.record.readUInt16LE(10);
    let cdSize = eocd.record.readUInt32LE(12);
    let cdOffset = eocd.record.readUInt32LE(16);
    if (entryCount === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      const zip64 = readZip64End(fd, eocd.offset, file);
      if (zip64) ({ entryCount, size: cdSize, offset: cdOffset } = zip64);
    }
    if (cdOffset + cdSize > eocd.offset) {
      throw new ZipReadError(
        file,
        `central directory (offset ${cdOffset}, ${cdSize} bytes) runs past the end record at ` +
          `${eocd.offset}: the archive is truncated or corrupt`
      );
    }
    const cd = readAt(fd, cdOffset, cdSize);
    const entries = [];
    let pos = 0;
    for (let i = 0; i < entryCount; i += 1) {
      if (pos + CENTRAL_HEADER_SIZE > cd.length || cd.readUInt32LE(pos) !== CENTRAL_HEADER_SIGNATURE) {
        throw new ZipReadError(file, `central directory entry ${i + 1} of ${entryCount} is corrupt`);
      }
      const nameLength = cd.readUInt16LE(pos + 28);
      const extraLength = cd.readUInt16LE(pos + 30);
      const commentLength = cd.readUInt16LE(pos + 32);
      const end = pos + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
      if (end > cd.length) {
        throw new ZipReadError(file, `central directory entry ${i + 1} runs past the directory`);
      }
      const name = cd.toString('utf8', pos + 46, pos + 46 + nameLength);
      const entry = {
        name,
        compressedSize: cd.readUInt32LE(pos + 20),
        uncompressedSize: cd.readUInt32LE(pos + 24),
        localHeaderOffset: cd.readUInt32LE(pos + 42),
        mode: (cd.readUInt32LE(pos + 38) >>> 16) & 0o177777,
        isDirectory: name.endsWith('/'),
      };
      applyZip64Extra(entry, cd.subarray(pos + 46 + nameLength, pos + 46 + nameLength + extraLength), file);
      entries.push(entry);
      pos = end;
    }
    return {
      file,
      zippedBytes: fileSize,
      unzippedBytes: entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0),
      entries,
    };
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { readCentralDirectory, ZipReadError };
