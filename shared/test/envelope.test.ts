import { expect } from 'chai';
import { EnvelopeError, makeEnvelope, parseEnvelope, scriptSource, serializeEnvelope } from '@inorder/shared';

/** The EnvelopeError `fn` throws (fails the test when it throws none). */
function refusal(fn: () => unknown): EnvelopeError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(EnvelopeError);
    return error as EnvelopeError;
  }
  expect.fail('expected an EnvelopeError');
}

/**
 * claim.lua's fast-path pattern (read from the script), as a JS RegExp. Supports the Lua pattern
 * items the script can reasonably use; anything else fails the test rather than guessing.
 */
function claimFastPath(): RegExp {
  const lua = scriptSource('inorderClaim');
  const m = /string\.match\(raw,\s*'([^']+)'\)/.exec(lua);
  if (!m) expect.fail("claim.lua has no string.match(raw, '...') fast path");
  let js = '';
  let inClass = false;
  const pattern = m[1]!;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '%') {
      const next = pattern[++i]!;
      if (next === 'd') js += '\\d';
      else if (/[^A-Za-z0-9]/.test(next)) js += `\\${next}`;
      else expect.fail(`unsupported Lua class %${next} in ${pattern}`);
    } else if (ch === '[') {
      inClass = true;
      js += '[';
    } else if (ch === ']') {
      inClass = false;
      js += ']';
    } else if (inClass)
      js += /[\\\]^]/.test(ch) ? `\\${ch}` : ch; // a - between two characters is a range in both
    else if ('^()+*?'.includes(ch)) js += ch;
    else if ('{}.|$\\'.includes(ch)) js += ch === '.' ? '.' : `\\${ch}`;
    else if (ch === '-') expect.fail(`unsupported Lua lazy quantifier in ${pattern}`);
    else js += ch;
  }
  return new RegExp(js);
}

const valid = { seq: 1, payload: { a: 1 }, createdAt: 1000 };

describe('envelope', () => {
  describe('parseEnvelope', () => {
    it('accepts a complete envelope and keeps every field', () => {
      const full = {
        seq: 42,
        payload: [1, 'x'],
        id: 'order-1',
        maxRetries: -1,
        maxAgeMs: 60_000,
        attempts: 2,
        priority: -5,
        lastError: 'boom',
        originalSeq: 7,
        createdAt: 1,
        processingAt: 2,
        processedAt: 3,
        sequencingAt: 4,
        sequencedAt: 5,
      };
      expect(parseEnvelope(JSON.stringify(full))).to.deep.equal(full);
    });

    it('accepts null and falsy payloads: only a missing payload is refused', () => {
      for (const payload of [null, 0, '', false]) {
        expect(parseEnvelope(JSON.stringify({ ...valid, payload })).payload).to.equal(payload);
      }
      expect(refusal(() => parseEnvelope(JSON.stringify({ seq: 1, createdAt: 1 }))).message).to.match(/\bpayload: /);
    });

    const bad: Array<[field: string, value: unknown]> = [
      ['seq', 0],
      ['seq', -1],
      ['seq', 1.5],
      ['seq', '1'],
      ['seq', 2 ** 53],
      ['createdAt', -1],
      ['createdAt', 'yesterday'],
      ['id', ''],
      ['id', 'x'.repeat(201)],
      ['maxRetries', -2],
      ['maxRetries', 0.5],
      ['maxAgeMs', -2],
      ['attempts', -1],
      ['priority', 1.5],
      ['originalSeq', 0],
      ['lastError', 5],
      ['processingAt', -1],
      ['sequencedAt', 'now'],
    ];
    for (const [field, value] of bad) {
      it(`refuses ${field}: ${JSON.stringify(value)} with an error naming ${field}`, () => {
        const raw = JSON.stringify({ ...valid, [field]: value });
        const error = refusal(() => parseEnvelope(raw));
        expect(error.message).to.match(new RegExp(`(^|; |: )${field}: `));
        expect(error.raw).to.equal(raw);
      });
    }

    it('refuses a missing seq or createdAt, naming the field', () => {
      expect(refusal(() => parseEnvelope('{"payload":1,"createdAt":1}')).message).to.match(/\bseq: /);
      expect(refusal(() => parseEnvelope('{"seq":1,"payload":1}')).message).to.match(/\bcreatedAt: /);
    });

    it('names every bad field, not just the first', () => {
      const error = refusal(() => parseEnvelope('{"seq":0,"payload":1,"createdAt":-1,"id":""}'));
      for (const field of ['seq', 'createdAt', 'id']) expect(error.message).to.match(new RegExp(`\\b${field}: `));
    });

    it('refuses text that is not JSON with an EnvelopeError keeping the raw text and the cause', () => {
      const error = refusal(() => parseEnvelope('{"seq":1,'));
      expect(error.message).to.include('not JSON');
      expect(error.raw).to.equal('{"seq":1,');
      expect(error.cause).to.be.instanceOf(SyntaxError);
    });

    it('refuses JSON that is not an object', () => {
      for (const raw of ['[1,2]', '5', 'null', '"seq"']) {
        const error = refusal(() => parseEnvelope(raw));
        expect(error.raw).to.equal(raw);
      }
    });
  });

  describe('makeEnvelope', () => {
    it("stamps createdAt and keeps the producer's fields", () => {
      expect(makeEnvelope({ seq: 3, payload: 'p', id: 'a', maxRetries: 0 }, 12345)).to.deep.equal({
        seq: 3,
        payload: 'p',
        id: 'a',
        maxRetries: 0,
        createdAt: 12345,
      });
    });

    it('refuses an invalid message before anything is written', () => {
      expect(refusal(() => makeEnvelope({ seq: 0, payload: 1 })).message).to.match(/\bseq: /);
    });
  });

  describe('serializeEnvelope', () => {
    const fastPath = claimFastPath();

    it('puts seq first, so claim.lua reads it without decoding', () => {
      const raw = serializeEnvelope({ payload: { seq: 99 }, createdAt: 1, id: 'x', seq: 17 });
      expect(raw.startsWith('{"seq":17,')).to.equal(true);
      expect(fastPath.exec(raw)?.[1]).to.equal('17');
    });

    it('matches the fast path for a lone seq and for the largest safe seq', () => {
      expect(fastPath.exec(serializeEnvelope({ seq: 5 }))?.[1]).to.equal('5');
      expect(fastPath.exec(serializeEnvelope({ ...valid, seq: Number.MAX_SAFE_INTEGER }))?.[1]).to.equal(String(Number.MAX_SAFE_INTEGER));
    });

    it('round-trips through parseEnvelope unchanged', () => {
      const envelope = makeEnvelope({ seq: 8, payload: { deep: [1, { x: 'y' }] }, id: 'i', maxAgeMs: 10 }, 77);
      expect(parseEnvelope(serializeEnvelope(envelope))).to.deep.equal(envelope);
    });

    it('(the fast path itself refuses text that only looks like an envelope)', () => {
      expect(fastPath.test('{"payload":1,"seq":5}')).to.equal(false);
      expect(fastPath.test('{"seq":5.5}')).to.equal(false);
      expect(fastPath.test('{"seq":-5}')).to.equal(false);
      expect(fastPath.test(' {"seq":5}')).to.equal(false);
    });
  });
});
