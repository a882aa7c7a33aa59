import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { meetsMinimum, menuTotal, shares } from '../../src/domain/pricing.js';

// Realistic KRW magnitudes and then some: a tip of 0, odd and even totals, up to 10 million.
const krw = fc.integer({ min: 0, max: 10_000_000 });
const positiveKrw = fc.integer({ min: 1, max: 10_000_000 });

describe('menuTotal', () => {
  it('is the sum of unit price × quantity', () => {
    expect(menuTotal([])).toBe(0);
    expect(
      menuTotal([
        { unitPrice: 23_000, quantity: 2 },
        { unitPrice: 5_000, quantity: 1 },
      ]),
    ).toBe(51_000);
  });

  it('is an integer for any integer lines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ unitPrice: positiveKrw, quantity: fc.integer({ min: 1, max: 99 }) }), { maxLength: 50 }),
        (lines) => {
          const total = menuTotal(lines);
          expect(Number.isSafeInteger(total)).toBe(true);
          expect(total).toBe(lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0));
        },
      ),
    );
  });
});

describe('shares: split (나눠먹기)', () => {
  it('gives the creator the rounded-up halves and the joiner the rounded-down ones', () => {
    expect(shares({ splitType: 'split', menuTotal: 23_001, joinerMenuTotal: null, deliveryTip: 3_001 })).toEqual({
      creator: 11_501 + 1_501,
      joiner: 11_500 + 1_500,
    });
    expect(shares({ splitType: 'split', menuTotal: 20_000, joinerMenuTotal: null, deliveryTip: 0 })).toEqual({
      creator: 10_000,
      joiner: 10_000,
    });
  });

  it('always yields integer shares that sum to exactly M + T, the creator paying ceil halves', () => {
    fc.assert(
      fc.property(positiveKrw, krw, (m, t) => {
        const { creator, joiner } = shares({ splitType: 'split', menuTotal: m, joinerMenuTotal: null, deliveryTip: t });
        expect(Number.isInteger(creator)).toBe(true);
        expect(Number.isInteger(joiner)).toBe(true);
        expect(creator + joiner!).toBe(m + t);
        expect(creator).toBe(Math.ceil(m / 2) + Math.ceil(t / 2));
        expect(joiner).toBe(Math.floor(m / 2) + Math.floor(t / 2));
        // The creator never pays less than the joiner, and at most 1 KRW more per halved amount.
        expect(creator - joiner!).toBeGreaterThanOrEqual(0);
        expect(creator - joiner!).toBeLessThanOrEqual(2);
      }),
    );
  });

  it('ignores a joiner menu total (both eat the same menu)', () => {
    fc.assert(
      fc.property(positiveKrw, krw, positiveKrw, (m, t, mj) => {
        expect(shares({ splitType: 'split', menuTotal: m, joinerMenuTotal: mj, deliveryTip: t })).toEqual(
          shares({ splitType: 'split', menuTotal: m, joinerMenuTotal: null, deliveryTip: t }),
        );
      }),
    );
  });
});

describe('shares: separate (각자먹기)', () => {
  it('charges each their own items plus half the tip, the creator the rounded-up half', () => {
    expect(shares({ splitType: 'separate', menuTotal: 9_000, joinerMenuTotal: 8_500, deliveryTip: 2_501 })).toEqual({
      creator: 9_000 + 1_251,
      joiner: 8_500 + 1_250,
    });
  });

  it('has no joiner share before anyone joined', () => {
    fc.assert(
      fc.property(positiveKrw, krw, (mc, t) => {
        const result = shares({ splitType: 'separate', menuTotal: mc, joinerMenuTotal: null, deliveryTip: t });
        expect(result).toEqual({ creator: mc + Math.ceil(t / 2), joiner: null });
      }),
    );
  });

  it('always yields integer shares that sum to exactly Mc + Mj + T', () => {
    fc.assert(
      fc.property(positiveKrw, positiveKrw, krw, (mc, mj, t) => {
        const { creator, joiner } = shares({ splitType: 'separate', menuTotal: mc, joinerMenuTotal: mj, deliveryTip: t });
        expect(Number.isInteger(creator)).toBe(true);
        expect(Number.isInteger(joiner)).toBe(true);
        expect(creator + joiner!).toBe(mc + mj + t);
        expect(creator).toBe(mc + Math.ceil(t / 2));
        expect(joiner).toBe(mj + Math.floor(t / 2));
      }),
    );
  });

  it("the creator's share at creation is what they still pay after someone joins", () => {
    fc.assert(
      fc.property(positiveKrw, positiveKrw, krw, (mc, mj, t) => {
        const before = shares({ splitType: 'separate', menuTotal: mc, joinerMenuTotal: null, deliveryTip: t });
        const after = shares({ splitType: 'separate', menuTotal: mc, joinerMenuTotal: mj, deliveryTip: t });
        expect(after.creator).toBe(before.creator);
      }),
    );
  });
});

describe('meetsMinimum', () => {
  it('split: the shared menu total must reach the minimum', () => {
    const order = { splitType: 'split' as const, menuTotal: 16_000, joinerMenuTotal: null, deliveryTip: 3_000 };
    expect(meetsMinimum(order, 16_000)).toBe(true);
    expect(meetsMinimum(order, 16_001)).toBe(false);
  });

  it('separate: both menus together must reach the minimum; the tip does not count', () => {
    const order = { splitType: 'separate' as const, menuTotal: 9_000, joinerMenuTotal: 7_000, deliveryTip: 3_000 };
    expect(meetsMinimum(order, 16_000)).toBe(true);
    expect(meetsMinimum(order, 16_001)).toBe(false);
    expect(meetsMinimum({ ...order, joinerMenuTotal: null }, 9_001)).toBe(false);
  });

  it('is exactly "menu totals ≥ minimum" for any amounts', () => {
    fc.assert(
      fc.property(positiveKrw, fc.option(positiveKrw, { nil: null }), krw, positiveKrw, (m, mj, t, min) => {
        const order = { splitType: 'separate' as const, menuTotal: m, joinerMenuTotal: mj, deliveryTip: t };
        expect(meetsMinimum(order, min)).toBe(m + (mj ?? 0) >= min);
      }),
    );
  });
});
