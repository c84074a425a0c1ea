import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnDecimals } from '../../src/util/decimals.ts';

describe('columnDecimals: the precision a column of numbers is shown with', () => {
  it('leaves counts alone and shows grid corners and scores exactly, with the same decimals for the whole column', () => {
    assert.equal(columnDecimals([1, 2, 3, null, 'x']), undefined);
    assert.equal(columnDecimals([]), undefined);
    assert.equal(columnDecimals([48.87, 48.875, 48.88]), 3, '0.005 degree cells stay apart (48.870, 48.875)');
    assert.equal(columnDecimals([2.385, 2.39]), 3);
    assert.equal(columnDecimals([12.5, 3]), 1);
    assert.equal(columnDecimals([0.000125, 1]), 6);
  });

  it('rounds computed ratios to about four significant digits of the largest value', () => {
    assert.equal(columnDecimals([29.685718259722474, 1.5, 3.0000001]), 2, '29.69');
    assert.equal(columnDecimals([0.012345678, 0.0012345678]), 5, '0.01235');
    assert.equal(columnDecimals([1234.5678901, 2.123456789]), 1, '1234.6');
    assert.equal(columnDecimals([123456.78901234]), 1, 'never fewer than one decimal for a non-integer column');
    assert.equal(columnDecimals([1e-9 / 3]), 6, 'never more than six');
  });
});
