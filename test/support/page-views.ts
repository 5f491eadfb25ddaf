import type { PageView } from '../../src/contracts/generated/events.ts';
import type { Uuid } from '../../src/contracts/logical-types.ts';

/** `count` page views numbered from `from`: each view id, and so each row, tells which event it was. */
export function pageViews(from: number, count: number): PageView[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return {
      view_id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` as Uuid,
      session_id: `s-${n % 97}`,
      customer_id: n,
      url: `https://shop.example/p/${n}`,
      referrer: null,
      duration_ms: n,
      is_bounce: false,
      viewed_at: 1_767_323_045_000_000n + BigInt(n),
      attributes: {},
    };
  });
}
