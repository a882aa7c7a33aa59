/** Mean Earth radius, the same one migrations/002_great_circle.sql uses for distances. */
export const EARTH_RADIUS_M = 6_371_008.8;

/**
 * A lat/lon box that contains every point within radiusM of the centre, so an index can narrow
 * the candidates before the exact great-circle distance is computed.
 */
export function boundingBox(lat: number, lon: number, radiusM: number) {
  const dLat = (radiusM / EARTH_RADIUS_M) * (180 / Math.PI);
  // Use the box edge nearest the pole, where a degree of longitude is shortest.
  const cosLat = Math.max(Math.cos((Math.min(89.9, Math.abs(lat) + dLat) * Math.PI) / 180), 1e-6);
  const dLon = Math.min(180, dLat / cosLat);
  return { minLat: lat - dLat, maxLat: lat + dLat, minLon: lon - dLon, maxLon: lon + dLon };
}
