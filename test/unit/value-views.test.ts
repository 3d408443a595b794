import { describe, expect, it } from 'vitest';
import { canonicalIp, flattenedText, userAgentName, viewValue } from '../../lambda/domain/value-views';

describe('the ip view: source.ip as Elastic keeps it', () => {
  it.each([
    { case: 'IPv4', text: '203.0.113.24', address: '203.0.113.24' },
    { case: 'IPv4 zero octets', text: '10.0.0.0', address: '10.0.0.0' },
    { case: 'IPv6 in full, upper case', text: '2001:DB8:0:0:0:0:0:1', address: '2001:db8::1' },
    { case: 'IPv6 with a needless zero group', text: '2001:db8::0:1', address: '2001:db8::1' },
    { case: 'IPv6 with leading zeros in a group', text: '2001:0db8::0001', address: '2001:db8::1' },
    {
      case: 'IPv6: the longest zero run is compressed',
      text: '2001:0:0:1:0:0:0:1',
      address: '2001:0:0:1::1',
    },
    { case: 'IPv6: the leftmost of two equal runs', text: '1:0:0:1:0:0:1:1', address: '1::1:0:0:1:1' },
    { case: 'IPv6: one zero group stays', text: '2001:db8:0:1:1:1:1:1', address: '2001:db8:0:1:1:1:1:1' },
    { case: 'IPv4-mapped IPv6 is the IPv4 address', text: '::ffff:203.0.113.24', address: '203.0.113.24' },
    { case: 'IPv4-mapped IPv6 in hex', text: '::FFFF:cb00:7118', address: '203.0.113.24' },
    { case: 'IPv4-compatible IPv6 stays IPv6', text: '::1.2.3.4', address: '::102:304' },
    { case: 'the unspecified address', text: '::', address: '::' },
    { case: 'a scope id is dropped', text: 'fe80::1%eth0', address: 'fe80::1' },
  ])('$case: $text is $address', ({ text, address }) => {
    // Act
    const result = canonicalIp(text);

    // Assess
    expect(result).toBe(address);
  });

  it.each([
    { case: 'an AWS service name', text: 'access-analyzer.amazonaws.com' },
    { case: "CloudTrail's AWS Internal", text: 'AWS Internal' },
    { case: 'an IPv4 octet with a leading zero', text: '010.0.0.1' },
    { case: 'an IPv4 octet over 255', text: '256.1.1.1' },
    { case: 'three octets', text: '1.2.3' },
    { case: 'five octets', text: '1.2.3.4.5' },
    { case: 'an IPv4 address with a scope', text: '1.2.3.4%eth0' },
    { case: 'two ::', text: '1::2::3' },
    { case: 'a group of five digits', text: '12345::1' },
    { case: 'a single leading colon', text: ':1::' },
    { case: 'nine groups', text: '1:2:3:4:5:6:7:8:9' },
    { case: ':: standing for no group', text: '1:2:3:4:5:6:7::8' },
    { case: 'an empty scope', text: 'fe80::1%' },
    { case: 'an address with a port', text: '203.0.113.24:443' },
  ])('$case ($text) is not an IP address', ({ text }) => {
    // Act
    const result = canonicalIp(text);

    // Assess
    expect(result).toBeUndefined();
  });
});

describe("the userAgentName view: Elastic's user_agent.name for AWS clients", () => {
  it.each([
    {
      case: 'the CLI',
      agent: 'aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.6',
      name: 'aws-cli',
    },
    {
      case: 'the CLI as S3 logs it, in brackets',
      agent: '[aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1 md/command#s3api.get-bucket-acl]',
      name: 'aws-cli',
    },
    { case: 'the CLI v1', agent: 'aws-cli/1.29.0 Python/3.11.4 Linux/5.15 botocore/1.31.0', name: 'aws-cli' },
    { case: 'Boto3', agent: 'Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1', name: 'Boto3' },
    {
      case: 'the Java SDK',
      agent: 'aws-sdk-java/1.12.600 Linux/6.1 OpenJDK_64-Bit_Server_VM',
      name: 'aws-sdk-java',
    },
    { case: 'the leftmost AWS client wins', agent: 'Boto3/1.34.0 aws-cli/2.15.0', name: 'Boto3' },
    { case: 'a CLI token without a version', agent: 'aws-cli/dev', name: 'Other' },
    { case: 'the console', agent: 'console.amazonaws.com', name: 'Other' },
    { case: 'a browser', agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', name: 'Other' },
  ])('$case is $name', ({ agent, name }) => {
    // Act
    const result = userAgentName(agent);

    // Assess
    expect(result).toBe(name);
  });
});

/** The expected texts were printed by Java 17's HashMap.toString for the same keys, inserted in the same order. */
describe('the flattened view: an object as Elastic flattens it into text', () => {
  it.each([
    {
      case: 'Service Quotas parameters, in either JSON order',
      value: { quotaCode: 'L-1216C47A', serviceCode: 'ec2' },
      text: '{serviceCode=ec2, quotaCode=L-1216C47A}',
    },
    {
      case: 'a third parameter lands between them',
      value: { serviceCode: 'ec2', quotaCode: 'L-1216C47A', contextId: 'x' },
      text: '{serviceCode=ec2, contextId=x, quotaCode=L-1216C47A}',
    },
    {
      case: 'empty values are dropped',
      value: { bucketName: 'b', Host: 'b.s3.amazonaws.com', acl: '', policy: null, tags: [], filter: {} },
      text: '{bucketName=b, Host=b.s3.amazonaws.com}',
    },
    {
      case: 'lists, numbers, booleans and nested objects',
      value: { b: 1, a: ['x', 'y'], c: { d: true } },
      text: '{a=[x, y], b=1, c={d=true}}',
    },
    {
      case: 'thirteen keys: the table has grown to 32 buckets',
      value: Object.fromEntries(
        Array.from({ length: 13 }, (_, i) => [`param${String.fromCharCode(97 + i)}`, i]),
      ),
      text: '{paramm=12, paramg=6, paramh=7, parame=4, paramf=5, paramk=10, paraml=11, parami=8, paramj=9, paramc=2, paramd=3, parama=0, paramb=1}',
    },
  ])('$case', ({ value, text }) => {
    // Act
    const result = flattenedText(value);

    // Assess
    expect(result).toBe(text);
  });

  it('gives no value for an object left empty once its empty values are dropped', () => {
    // Act
    const result = viewValue('flattened', { acl: '', tags: [] });

    // Assess
    expect(result).toBeUndefined();
  });
});
