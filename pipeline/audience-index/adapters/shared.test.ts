import { describe, expect, it } from 'vitest';
import { searchError, statusOf } from './shared.ts';

describe('searchError', () => {
  it('treats a request that got no answer (statusCode null, as opensearch-js reports ECONNREFUSED) as retriable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9200'), { meta: { statusCode: null } });
    const error = searchError('opensearch', 'search', refused);
    expect(error.code).toBe('SEARCH_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(statusOf(refused)).toBeUndefined();
  });

  it('keeps a 4xx other than 429 permanent and 429/5xx retriable', () => {
    const answer = (statusCode: number) => Object.assign(new Error('x'), { meta: { statusCode, body: null } });
    expect(searchError('opensearch', 'search', answer(400)).retriable).toBe(false);
    expect(searchError('opensearch', 'search', answer(429)).retriable).toBe(true);
    expect(searchError('opensearch', 'search', answer(503)).retriable).toBe(true);
  });
});
