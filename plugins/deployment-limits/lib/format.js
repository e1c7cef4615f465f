'use strict';

const { MB } = require('./limits');

function bytes(value) {
  if (value === null || value === undefined) return '?';
  if (value >= MB) return `${(value / MB).toFixed(1)} MB`;
  if (value >= 1024) return `${(value / 1024).toFixed(1)} KB`;
  return `${value} B`;
}

function exactBytes(value) {
  return `${value.toLocaleString('en-US')} bytes`;
}

function percent(value, limit) {
  if (value === null || value === undefined) return '';
  return `${Math.round((value / limit) * 100)}%`;
}

module.exports = { bytes, exactBytes, percent };
