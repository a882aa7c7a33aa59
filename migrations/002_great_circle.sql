-- Great-circle distance in metres on a spherical Earth (mean radius 6,371,008.8 m): the one
-- definition of "distance" the nearby search uses. Accurate to ~0.5 %, plenty for "within 300 m".
CREATE FUNCTION great_circle_m(lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT 2 * 6371008.8 * asin(least(1, sqrt(
    sin(radians(lat2 - lat1) / 2) ^ 2
    + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;
