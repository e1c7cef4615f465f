'use strict';

// Turns a packaged service (artifacts on disk plus the compiled CloudFormation template) into
// figures: one row per function, one per layer, plus stack-wide figures. Nothing is unpacked.

const limits = require('./limits');
const { readCentralDirectory, ZipReadError } = require('./zip');
const { resolvedJsonBytes } = require('./intrinsics');

const LAYER_PREFIXES = [/^python\/lib\/python3\.\d+\/site-packages\//, /^python\//, /^nodejs\/node_modules\//];

function topLevelName(entryName) {
  let name = entryName;
  for (const prefix of LAYER_PREFIXES) {
    if (prefix.test(name)) {
      name = name.replace(prefix, '');
      break;
    }
  }
  const first = name.split('/')[0];
  // dist-info and the package it describes count as one dependency
  return first.replace(/-[^-]+\.dist-info$/, '').replace(/\.libs$/, '');
}

/** The largest top-level packages in a set of zip listings, biggest first. */
function largestParts(listings, count = 3) {
  const totals = new Map();
  for (const listing of listings) {
    for (const entry of listing.entries) {
      const key = topLevelName(entry.name);
      totals.set(key, (totals.get(key) || 0) + entry.uncompressedSize);
    }
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([name, bytes]) => ({ name, bytes }));
}

function readListing(file, what, problems, cache) {
  if (cache.has(file)) return cache.get(file);
  let listing = null;
  try {
    listing = readCentralDirectory(file);
  } catch (error) {
    if (!(error instanceof ZipReadError)) throw error;
    problems.push({ subject: what, message: error.message });
  }
  cache.set(file, listing);
  return listing;
}

function resourcesOfType(template, type) {
  return Object.entries((template && template.Resources) || {}).filter(([, r]) => r && r.Type === type);
}

/** The logical id of the Lambda function a value (Ref, GetAtt, alias...) points at, if any. */
function functionLogicalIdOf(value, template, depth = 0) {
  if (!value || typeof value !== 'object' || depth > 4) return null;
  const resources = template.Resources || {};
  const target = value.Ref || (Array.isArray(value['Fn::GetAtt']) ? value['Fn::GetAtt'][0] : null);
  if (typeof target === 'string' && resources[target]) {
    const resource = resources[target];
    if (resource.Type === 'AWS::Lambda::Function') return target;
    if (resource.Type === 'AWS::Lambda::Alias' || resource.Type === 'AWS::Lambda::Version') {
      return functionLogicalIdOf(resource.Properties && resource.Properties.FunctionName, template, depth + 1);
    }
  }
  for (const item of Object.values(value)) {
    const found = functionLogicalIdOf(item, template, depth + 1);
    if (found) return found;
  }
  return null;
}

function numberOr(value, fallback) {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  return fallback;
}

function measureLayers(model, problems, cache) {
  return model.layers.map((layer) => {
    if (!layer.artifact) {
      problems.push({
        subject: `layer ${layer.name}`,
        message: 'has no package artifact: was it packaged?',
      });
      return { ...layer, listing: null, zippedBytes: null, unzippedBytes: null };
    }
    const listing = readListing(layer.artifact, `layer ${layer.name}`, problems, cache);
    return {
      ...layer,
      listing,
      zippedBytes: listing ? listing.zippedBytes : null,
      unzippedBytes: listing ? listing.unzippedBytes : null,
    };
  });
}

function resolveFunctionLayers(fn, resource, model, layersByLogicalId) {
  const declared =
    (resource && resource.Properties && resource.Properties.Layers) || fn.layers || [];
  return declared.map((ref) => {
    if (ref && typeof ref === 'object' && typeof ref.Ref === 'string') {
      const local = layersByLogicalId.get(ref.Ref);
      if (local) return { kind: 'local', id: ref.Ref, layer: local };
      const templated = model.template && model.template.Resources && model.template.Resources[ref.Ref];
      if (templated && templated.Type === 'AWS::Lambda::LayerVersion') {
        return { kind: 'unmeasured', id: ref.Ref };
      }
      return { kind: 'missing', id: ref.Ref };
    }
    return { kind: 'external', id: typeof ref === 'string' ? ref : JSON.stringify(ref) };
  });
}

function measureFunction(fn, model, layersByLogicalId, problems, cache) {
  const template = model.template || {};
  const resource = (template.Resources || {})[fn.logicalId];
  const properties = (resource && resource.Properties) || {};
  const row = {
    name: fn.name,
    logicalId: fn.logicalId,
    image: Boolean(fn.image),
    artifact: fn.artifact || null,
    http: (fn.events || []).some((event) => event && (event.http || event.httpApi)),
    timeout: numberOr(properties.Timeout, numberOr(fn.timeout, limits.DEFAULT_TIMEOUT_SECONDS)),
    memory: numberOr(properties.MemorySize, numberOr(fn.memorySize, limits.DEFAULT_MEMORY_MB)),
    zippedBytes: null,
    codeUnzippedBytes: null,
    unzippedBytes: null,
    unzippedComplete: true,
    layers: [],
    environmentBytes: 0,
    environmentEstimated: false,
    largest: [],
  };
  const variables = properties.Environment && properties.Environment.Variables;
  const environment = variables || fn.environment;
  if (environment && Object.keys(environment).length) {
    const { bytes, estimated } = resolvedJsonBytes(environment, template);
    row.environmentBytes = bytes;
    row.environmentEstimated = estimated;
  }
  if (row.image) return row;

  const listings = [];
  if (!fn.artifact) {
    problems.push({ subject: `function ${fn.name}`, message: 'has no package artifact: was it packaged?' });
  } else {
    const listing = readListing(fn.artifact, `function ${fn.name}`, problems, cache);
    if (listing) {
      listings.push(listing);
      row.zippedBytes = listing.zippedBytes;
      row.codeUnzippedBytes = listing.unzippedBytes;
    }
  }
  let total = row.codeUnzippedBytes;
  for (const ref of resolveFunctionLayers(fn, resource, model, layersByLogicalId)) {
    if (ref.kind === 'local') {
      row.layers.push({ name: ref.layer.name, unzippedBytes: ref.layer.unzippedBytes });
      if (ref.layer.listing) listings.push(ref.layer.listing);
      if (ref.layer.unzippedBytes === null) total = null;
      else if (total !== null) total += ref.layer.unzippedBytes;
    } else if (ref.kind === 'missing') {
      row.layers.push({ name: ref.id, unzippedBytes: null });
      total = null;
      problems.push({
        subject: `function ${fn.name}`,
        message:
          `uses layer ${ref.id}, which is neither a layer of this service ` +
          'nor a resource of the template: declare it under layers: or fix the reference',
      });
    } else {
      row.layers.push({ name: ref.id, unzippedBytes: null, external: true });
      row.unzippedComplete = false;
    }
  }
  row.unzippedBytes = total;
  row.largest = largestParts(listings);
  return row;
}

function measureQueues(model, functionsByLogicalId) {
  const template = model.template || {};
  const resources = template.Resources || {};
  const queues = [];
  for (const [id, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const properties = mapping.Properties || {};
    const source = properties.EventSourceArn;
    const queueId = source && Array.isArray(source['Fn::GetAtt']) ? source['Fn::GetAtt'][0] : null;
    const queue = queueId && resources[queueId];
    if (!queue || queue.Type !== 'AWS::SQS::Queue') continue;
    const fnId = functionLogicalIdOf(properties.FunctionName, template);
    const fn = fnId && functionsByLogicalId.get(fnId);
    const fnResource = fnId && resources[fnId];
    const timeout = fn
      ? fn.timeout
      : numberOr(fnResource && fnResource.Properties && fnResource.Properties.Timeout, null);
    const rawVisibility = queue.Properties && queue.Properties.VisibilityTimeout;
    queues.push({
      mapping: id,
      queue: queueId,
      function: fn ? fn.name : fnId,
      functionTimeout: timeout,
      visibilityTimeout:
        rawVisibility === undefined ? limits.SQS_DEFAULT_VISIBILITY_SECONDS : numberOr(rawVisibility, null),
      batchingWindow: numberOr(properties.MaximumBatchingWindowInSeconds, 0),
    });
  }
  return queues;
}

function roleIdsOf(roles) {
  return (Array.isArray(roles) ? roles : []).map((role) => role && role.Ref).filter(Boolean);
}

function measureRoles(model) {
  const template = model.template || {};
  const roles = new Map();
  for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
    roles.set(id, { role: id, inlinePolicyBytes: 0, estimated: false, policies: 0 });
    for (const policy of (role.Properties && role.Properties.Policies) || []) {
      const { bytes, estimated } = resolvedJsonBytes(policy.PolicyDocument, template);
      const entry = roles.get(id);
      entry.inlinePolicyBytes += bytes;
      entry.estimated = entry.estimated || estimated;
      entry.policies += 1;
    }
  }
  const standalone = [
    ...resourcesOfType(template, 'AWS::IAM::Policy').map(([, p]) => [p, roleIdsOf(p.Properties && p.Properties.Roles)]),
    ...resourcesOfType(template, 'AWS::IAM::RolePolicy').map(([, p]) => [p, roleIdsOf([p.Properties && p.Properties.RoleName])]),
  ];
  for (const [policy, roleIds] of standalone) {
    const { bytes, estimated } = resolvedJsonBytes(policy.Properties && policy.Properties.PolicyDocument, template);
    for (const id of roleIds) {
      const entry = roles.get(id);
      if (!entry) continue;
      entry.inlinePolicyBytes += bytes;
      entry.estimated = entry.estimated || estimated;
      entry.policies += 1;
    }
  }
  return [...roles.values()];
}

/**
 * @param {object} model {template, functions: [{name, logicalId, artifact, image, events,
 *   layers, environment, timeout, memorySize}], layers: [{name, logicalId, artifact}]}
 */
function measure(model) {
  const problems = [];
  const cache = new Map();
  const layers = measureLayers(model, problems, cache);
  const layersByLogicalId = new Map(layers.map((layer) => [layer.logicalId, layer]));
  const functions = model.functions.map((fn) =>
    measureFunction(fn, model, layersByLogicalId, problems, cache)
  );
  const functionsByLogicalId = new Map(functions.map((fn) => [fn.logicalId, fn]));
  return {
    functions,
    layers: layers.map(({ listing, ...layer }) => ({ ...layer, largest: listing ? largestParts([listing]) : [] })),
    queues: measureQueues(model, functionsByLogicalId),
    roles: measureRoles(model),
    resourceCount: model.template ? Object.keys(model.template.Resources || {}).length : null,
    problems,
  };
}

module.exports = { measure, largestParts, functionLogicalIdOf };
