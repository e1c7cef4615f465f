'use strict';

const { skipLayerComparisonWhenPackaging } = require('./lib/offline-layers');

class PythonPackaging {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options || {};
    this.log = (utils && utils.log) || null;
    skipLayerComparisonWhenPackaging(serverless, this.log);
    this.hooks = {};
  }
}

module.exports = PythonPackaging;
