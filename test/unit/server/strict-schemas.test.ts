import { describe, expect, it } from 'vitest';
import { strictSchema, withoutNulls } from '../../../src/server/strict-schemas.js';

describe('strictSchema', () => {
  const input = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      alias: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z]+$', description: 'Host alias' },
      max_lines: { type: 'integer', maximum: 5000, default: 500, description: 'Lines to return' },
      tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
    },
    required: ['alias'],
  };

  it('closes every object, requires every property and makes the optional ones nullable', () => {
    const out = strictSchema(input);
    expect(out.$schema).toBeUndefined();
    expect(out.additionalProperties).toBe(false);
    expect(out.required).toEqual(['alias', 'max_lines', 'tags']);
    const props = out.properties as Record<string, Record<string, unknown>>;
    expect(props.alias?.type).toBe('string');
    expect(props.max_lines?.type).toEqual(['integer', 'null']);
    expect(props.tags?.type).toEqual(['array', 'null']);
    expect(props.tags?.items).toEqual({
      type: 'object',
      properties: { name: { type: ['string', 'null'] } },
      required: ['name'],
      additionalProperties: false,
    });
  });

  it('says lengths, the pattern and the default in words; keeps the pattern and bounds', () => {
    const props = strictSchema(input).properties as Record<string, Record<string, unknown>>;
    expect(props.alias).toEqual({
      type: 'string',
      pattern: '^[a-z]+$',
      description: 'Host alias. 1 to 100 characters. Matches `^[a-z]+$`.',
    });
    expect(props.max_lines).toEqual({
      type: ['integer', 'null'],
      maximum: 5000,
      description: 'Lines to return. Default: 500.',
    });
  });

  it('leaves a schema without those keywords as it was', () => {
    expect(strictSchema({ type: 'string', description: 'x' })).toEqual({ type: 'string', description: 'x' });
  });
});

describe('withoutNulls', () => {
  it('drops null arguments and keeps every other value, falsy ones included', () => {
    expect(withoutNulls({ a: null, b: 0, c: '', d: false, e: 'x' })).toEqual({ b: 0, c: '', d: false, e: 'x' });
    expect(withoutNulls(undefined)).toBeUndefined();
  });
});
