import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../src/errors.js';
import { parseInteger, parseNumber, parsePositive } from '../src/cli/parse.js';

function refused(f: () => unknown, message: RegExp): void {
  assert.throws(f, (e: Error) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'), String(message));
}

test('whole numbers: plain decimal digits in range; everything else gets one line naming the flag', () => {
  assert.equal(parseInteger('12', '--count', 1), 12);
  assert.equal(parseInteger(' 0 ', '--port', 0, 65535), 0);
  assert.equal(parseInteger('-3', '--shift'), -3);
  assert.equal(parseInteger('4294967295', '--seed', 0, 0xffffffff), 0xffffffff);
  refused(() => parseInteger('70000', '--port', 0, 65535), /^--port must be a whole number from 0 to 65535, got "70000"$/);
  refused(() => parseInteger('0', '--count', 1), /^--count must be a whole number >= 1, got "0"$/);
  for (const bad of ['', ' ', '2.5', '1e3', '0x10', '12abc', 'Infinity', 'NaN', '99999999999999999999']) {
    refused(() => parseInteger(bad, '--length', 1), /^--length must be a whole number >= 1, got /);
  }
});

test('numbers and positive numbers: finite decimals, with an exponent if wanted', () => {
  assert.equal(parseNumber('0.8', '--split', 0), 0.8);
  assert.equal(parseNumber('.5', '--split', 0), 0.5);
  assert.equal(parseNumber('0', '--split', 0), 0);
  assert.equal(parsePositive('3e-4', '--lr'), 3e-4);
  assert.equal(parsePositive('1.', '--minutes'), 1);
  refused(() => parseNumber('-0.1', '--split', 0), /^--split must be a number >= 0, got "-0.1"$/);
  refused(() => parseNumber('2', '--mix', 0, 1), /^--mix must be a number from 0 to 1, got "2"$/);
  for (const bad of ['', 'hot', '0x1', '1,5', 'Infinity', '1e400', '0', '-2']) {
    refused(() => parsePositive(bad, '--temperature'), /^--temperature must be a number > 0, got /);
  }
});
