import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EARTH_RADIUS_M, boundingBox } from '../../src/domain/geo.js';
import { NEARBY_MAX_RADIUS_M } from '../../src/domain/limits.js';

const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** The test's own great-circle distance (haversine), independent of the service's SQL. */
function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const a = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The point reached from (lat, lon) going distanceM along the initial bearing; lon in [-180, 180]. */
function destination(lat: number, lon: number, bearingDeg: number, distanceM: number) {
  const d = distanceM / EARTH_RADIUS_M;
  const φ1 = rad(lat);
  const θ = rad(bearingDeg);
  const φ2 = Math.asin(Math.sin(φ1) * Math.cos(d) + Math.cos(φ1) * Math.sin(d) * Math.cos(θ));
  const λ2 = rad(lon) + Math.atan2(Math.sin(θ) * Math.sin(d) * Math.cos(φ1), Math.cos(d) - Math.sin(φ1) * Math.sin(φ2));
  const normalised = ((deg(λ2) + 540) % 360) - 180;
  return { lat: deg(φ2), lon: normalised };
}

// Float slack when a point sits exactly on the circle: 1e-9 degrees is about 0.1 mm.
const EPS = 1e-9;

function expectInBox(box: ReturnType<typeof boundingBox>, p: { lat: number; lon: number }) {
  expect(p.lat).toBeGreaterThanOrEqual(box.minLat - EPS);
  expect(p.lat).toBeLessThanOrEqual(box.maxLat + EPS);
  // Stored longitudes are in [-180, 180] and the SQL compares them as they are: no wrapping.
  expect(p.lon).toBeGreaterThanOrEqual(box.minLon - EPS);
  expect(p.lon).toBeLessThanOrEqual(box.maxLon + EPS);
}

describe('haversine (the test’s own ruler)', () => {
  it('measures known distances', () => {
    // One degree of latitude on this sphere.
    expect(haversineM(0, 0, 1, 0)).toBeCloseTo((Math.PI / 180) * EARTH_RADIUS_M, 3);
    expect(haversineM(35.8468, 127.1297, 35.8468, 127.1297)).toBe(0);
    // Across the antimeridian is short, not half the globe.
    expect(haversineM(0, 179.9999, 0, -179.9999)).toBeLessThan(30);
    // destination() and haversine agree.
    const p = destination(35.8468, 127.1297, 37, 300);
    expect(haversineM(35.8468, 127.1297, p.lat, p.lon)).toBeCloseTo(300, 6);
  });
});

describe('boundingBox', () => {
  it('is centred on the point and about r wide in latitude', () => {
    const box = boundingBox(35.8468, 127.1297, 300);
    expect((box.minLat + box.maxLat) / 2).toBeCloseTo(35.8468, 12);
    expect((box.minLon + box.maxLon) / 2).toBeCloseTo(127.1297, 12);
    expect(haversineM(box.minLat, 127.1297, 35.8468, 127.1297)).toBeCloseTo(300, 6);
    // Longitude is wider than latitude away from the equator, and not absurdly so.
    expect(box.maxLon - box.minLon).toBeGreaterThan(box.maxLat - box.minLat);
    expect(box.maxLon - box.minLon).toBeLessThan(2 * (box.maxLat - box.minLat));
  });

  it('contains every point within r of the centre (near the demo neighbourhoods)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 33, max: 39, noNaN: true }),
        fc.double({ min: 124, max: 131, noNaN: true }),
        fc.integer({ min: 1, max: NEARBY_MAX_RADIUS_M }),
        fc.double({ min: 0, max: 360, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (lat, lon, r, bearing, fraction) => {
          const p = destination(lat, lon, bearing, r * fraction);
          // "Within r" is decided by the test's own haversine, not by how the point was made.
          fc.pre(haversineM(lat, lon, p.lat, p.lon) <= r);
          expectInBox(boundingBox(lat, lon, r), p);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('contains every point within r of the centre, anywhere on Earth (poles and antimeridian included)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -90, max: 90, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.integer({ min: 1, max: NEARBY_MAX_RADIUS_M }),
        fc.double({ min: 0, max: 360, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (lat, lon, r, bearing, fraction) => {
          const p = destination(lat, lon, bearing, r * fraction);
          // "Within r" is decided by the test's own haversine, not by how the point was made.
          fc.pre(haversineM(lat, lon, p.lat, p.lon) <= r);
          expectInBox(boundingBox(lat, lon, r), p);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('contains the far side of the pole when the circle covers it', () => {
    // 89.99°N: the point across the pole at the same latitude is ~2.2 km away.
    const box = boundingBox(89.99, 10, 3000);
    const across = { lat: 89.99, lon: -170 };
    expect(haversineM(89.99, 10, across.lat, across.lon)).toBeLessThan(3000);
    expectInBox(box, across);
  });

  it('contains a neighbour on the other side of the antimeridian', () => {
    const box = boundingBox(-17.7134, 179.999, 300);
    const neighbour = { lat: -17.7134, lon: -179.999 };
    expect(haversineM(-17.7134, 179.999, neighbour.lat, neighbour.lon)).toBeLessThan(300);
    expectInBox(box, neighbour);
  });
});
