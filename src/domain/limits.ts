/** Limits that are part of the public contract (they appear in the OpenAPI schemas). */

// A single top-up above 1,000,000 KRW is far more likely a typo or a stolen token than a lunch.
export const TOP_UP_MAX_KRW = 1_000_000;
// Beyond 3 km it is not a neighbourhood any more, and the search would scan too much.
export const NEARBY_MAX_RADIUS_M = 3000;
// Nobody orders 100 of one dish for two people; also bounds integer sizes.
export const MAX_QUANTITY = 99;
export const MAX_ITEMS_PER_ORDER = 50;
export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 100;
// A rider on a scooter takes orders from stores a few minutes' ride away; 10 km bounds the scan.
export const DELIVERIES_DEFAULT_RADIUS_M = 3000;
export const DELIVERIES_MAX_RADIUS_M = 10_000;
