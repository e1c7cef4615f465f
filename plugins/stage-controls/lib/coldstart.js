'use strict';

// Cold-start controls (issue 12): config `coldStart.<function>` is either
// `{provisionedConcurrency: N}` (N environments kept initialised on the canary's alias) or
// `{snapStart: true}` (Lambda snapshots each published version after its init and resumes
// new environments from it). Both act on published versions, so only a function the canary
// shifts through an alias may have one; osls's own `provisionedConcurrency`/`snapStart`
// would add a second alias and point the events at it, so they are applied here instead.

const { aliasId } = require('./canary');

// Problems with the setting in the stage config (the plugin stops on any; gates/config.py
// reports the same).
function problems({ coldStart, canary, reservedConcurrency }) {
  const shifted = (canary && canary.functions) || [];
  const found = [];
  for (const [name, setting] of Object.entries(coldStart || {})) {
    if (!shifted.includes(name)) {
      found.push(
        `key coldStart.${name}: expected a function in canary.functions (${shifted.join(', ') || 'none'}): ` +
          'provisioned concurrency and SnapStart apply to the alias of published versions'
      );
    }
    const reserved = (reservedConcurrency || {})[name];
    const provisioned = setting && setting.provisionedConcurrency;
    if (provisioned && reserved != null && provisioned > reserved) {
      found.push(
        `key coldStart.${name}.provisionedConcurrency: expected at most reservedConcurrency.${name} (${reserved}), got ${provisioned}`
      );
    }
  }
  return found;
}

// resources: the compiled template's, after the canary plugin made the aliases;
// functionIds: {name: logical id}. Returns what was applied, per function.
function apply(resources, { coldStart, functionIds, alias }) {
  const applied = {};
  for (const [name, setting] of Object.entries(coldStart || {})) {
    const id = functionIds[name];
    const fn = resources[id];
    if (!fn) throw new Error(`coldStart: no function ${id} for ${name}`);
    if (setting.provisionedConcurrency) {
      const target = resources[aliasId(id, alias)];
      if (!target) throw new Error(`coldStart: no alias ${aliasId(id, alias)} for ${name}`);
      target.Properties.ProvisionedConcurrencyConfig = {
        ProvisionedConcurrentExecutions: setting.provisionedConcurrency,
      };
      applied[name] = `provisioned concurrency ${setting.provisionedConcurrency} on ${alias}`;
    }
    if (setting.snapStart) {
      fn.Properties.SnapStart = { ApplyOn: 'PublishedVersions' };
      // osls names a version after its code and configuration as compiled, before this:
      // marking the description replaces the version resource, so turning SnapStart on (or
      // off) publishes a version with (or without) a snapshot on this deploy, not the next.
      const versions = Object.values(resources).filter(
        (r) => r && r.Type === 'AWS::Lambda::Version' && r.Properties.FunctionName && r.Properties.FunctionName.Ref === id
      );
      for (const version of versions) {
        version.Properties.Description = `${version.Properties.Description || name} (SnapStart)`;
      }
      applied[name] = 'SnapStart on published versions';
    }
  }
  return applied;
}

module.exports = { problems, apply };
