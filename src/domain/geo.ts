/** Mean Earth radius, the same one migrations/002_great_circle.sql uses for distances. */
export const EARTH_RADIUS_M = 6_371_008.8;

/**
 * A lat/lon box that contains every point within radiusM of the centre, so an index can narrow
 * the candidates before the exact great-circle distance is computed.
 */
export function boundingBox(lat: number, lon: number, radiusM: number) {
  const dLat = (radiusM / EARTH_RADIUS_M) * (180 / Math.PI);
  const box = { minLat: lat - dLat, maxLat: lat + dLat, minLon: -180, maxLon: 180 };
  // Use the box edge nearest the pole, where a degree of longitude is shortest.
  const poleward = Math.abs(lat) + dLat;
  // A circle that reaches a pole reaches every longitude.
  if (poleward >= 90) return box;
  const dLon = dLat / Math.cos((poleward * Math.PI) / 180);
  // Stored longitudes are in [-180, 180] and compared as they are: a circle across the
  // antimeridian cannot be one such box, so it takes every longitude (the exact distance filters).
  if (lon - dLon < -180 || lon + dLon > 180) return box;
  return { ...box, minLon: lon - dLon, maxLon: lon + dLon };
}
