import { describe, expect, it } from 'vitest';
import { loadPipelineSettings, pipelineSettings, settingsEnvironment } from '../../lambda/config';
import { DISCOVERY_CAMPAIGN } from '../../lambda/domain/detection/built-in-rules';
import { withOverrides } from '../../lambda/domain/detection/rule';
import { parseRuleDefinitions } from '../../lambda/domain/detection/rule-parser';

const EC2 = 'ec2-multi-region-describe-instances';
const CAMPAIGN_RULES = [
  EC2,
  'discovery-api-calls-via-cli',
  's3-rapid-bucket-posture',
  'servicequotas-multi-region-get-service-quota',
];

/** A JSON correlation over `rules`, with `extra` fields. */
function correlationJson(rules: readonly string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'my-campaign',
    name: 'My campaign',
    correlation: { rules },
    windowSeconds: 3600,
    minDistinct: 2,
    ...extra,
  });
}

describe('correlation rules at load (and so at synth, which loads the same variables)', () => {
  it.each([
    {
      case: 'a rule the correlation names is not enabled',
      env: { RULES: `${EC2},discovery-campaign` },
      error: /correlation discovery-campaign: rule discovery-api-calls-via-cli is not enabled/,
    },
    {
      case: 'a correlation names an unknown rule',
      env: { RULES: EC2, CUSTOM_RULES_JSON: correlationJson([EC2, 'no-such-rule']) },
      error: /correlation my-campaign: names no known rule "no-such-rule"/,
    },
    {
      case: 'a correlation names a correlation',
      env: {
        RULES: [...CAMPAIGN_RULES, 'discovery-campaign'].join(','),
        CUSTOM_RULES_JSON: correlationJson([EC2, 'discovery-campaign']),
      },
      error: /correlation my-campaign: discovery-campaign is a correlation/,
    },
    {
      case: 'a building block names no enabled rule',
      env: { BUILDING_BLOCKS: 's3-rapid-bucket-posture' },
      error: /building blocks s3-rapid-bucket-posture name no enabled rule/,
    },
    {
      case: 'a correlation is made a building block',
      env: {
        RULES: [...CAMPAIGN_RULES, 'discovery-campaign'].join(','),
        BUILDING_BLOCKS: 'discovery-campaign',
      },
      error: /a correlation cannot be a building block/,
    },
  ])('refuses the settings when $case', ({ env, error }) => {
    expect(() => loadPipelineSettings(env)).toThrow(error);
  });

  it.each([
    {
      case: 'a window over an hour',
      extra: { windowSeconds: 3601 },
      error: /windowSeconds must be .* 1 to 3600/,
    },
    { case: 'a filter', extra: { filter: [{ field: 'eventName', equals: ['X'] }] }, error: /has no filter/ },
    { case: 'a threshold its rules cannot reach', extra: { minDistinct: 3 }, error: /can never be reached/ },
    {
      case: 'a further group-by field',
      extra: { groupBy: ['userIdentity.arn', 'sourceIPAddress'] },
      error: /groups by userIdentity.arn alone/,
    },
    {
      case: 'a required rule it does not count',
      extra: { correlation: { rules: [EC2, 's3-rapid-bucket-posture'], requires: ['x'] } },
      error: /correlation.requires must name rules of correlation.rules/,
    },
  ])('refuses a correlation with $case', ({ extra, error }) => {
    expect(() =>
      parseRuleDefinitions(correlationJson([EC2, 's3-rapid-bucket-posture'], extra), 'x.json'),
    ).toThrow(error);
  });

  it('allows an hour for a correlation only: an event rule stays within 30 minutes', () => {
    expect(withOverrides(DISCOVERY_CAMPAIGN, {}).windowSeconds).toBe(3600);
    expect(() => loadPipelineSettings({ WINDOW_SECONDS: '3600' })).toThrow(
      /WINDOW_SECONDS must be .* 1 to 1800/,
    );
  });

  it('resolves rule ids to slugs, and the settings travel through the environment unchanged', () => {
    // Prepare
    const settings = pipelineSettings({
      rules: CAMPAIGN_RULES,
      customRules: parseRuleDefinitions(
        correlationJson(['393ef120-63d1-11ef-8e38-f661ea17fbce', 's3-rapid-bucket-posture'], {
          correlation: {
            rules: ['393ef120-63d1-11ef-8e38-f661ea17fbce', 's3-rapid-bucket-posture'],
            requires: ['393ef120-63d1-11ef-8e38-f661ea17fbce'],
          },
        }),
        'x.json',
      ),
      buildingBlocks: [EC2],
    });

    // Act
    const reloaded = loadPipelineSettings(settingsEnvironment(settings));

    // Assess
    expect(settings.rules.find((rule) => rule.id === 'my-campaign')?.correlation).toEqual({
      rules: [EC2, 's3-rapid-bucket-posture'],
      requires: [EC2],
    });
    expect(settings.rules.find((rule) => rule.slug === EC2)?.buildingBlock).toBe(true);
    expect(reloaded.rules).toEqual(settings.rules);
  });
});
