import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoginRateLimiter } from '../../src/security/index.ts';

describe('login rate limiter', () => {
  it('locks an account after N failures within the window, then lets it try again', () => {
    let t = 0;
    const rl = new LoginRateLimiter({ perAccount: 3, perAddress: 100, windowMs: 60_000 }, () => t);
    for (let i = 0; i < 3; i++) {
      assert.equal(rl.retryAfterSeconds('alice', '1.1.1.1'), 0, `attempt ${i} allowed`);
      rl.recordFailure('alice', '1.1.1.1');
      t += 1000;
    }
    assert.equal(rl.retryAfterSeconds('alice', '2.2.2.2'), 57, 'account locked from any address until the first failure leaves the window');
    assert.equal(rl.retryAfterSeconds('bob', '1.1.1.1'), 0, 'another account from the same address is not locked by this');
    t += 57_000;
    assert.equal(rl.retryAfterSeconds('alice', '1.1.1.1'), 0, 'window passed');
  });

  it('locks an address spraying many accounts; success clears only the account', () => {
    const rl = new LoginRateLimiter({ perAccount: 100, perAddress: 4, windowMs: 60_000 }, () => 0);
    for (let i = 0; i < 4; i++) rl.recordFailure(`user${i}`, '6.6.6.6');
    assert.ok(rl.retryAfterSeconds('someone', '6.6.6.6') > 0, 'address locked');
    rl.recordSuccess('someone');
    assert.ok(rl.retryAfterSeconds('someone', '6.6.6.6') > 0, 'still locked by address');
  });
});
