-- The same distance, without PostgreSQL's float underflow error: where a result is too small for a
-- double (the squared sine of half of a denormal angle, the radians of a denormal latitude),
-- PostgreSQL raises "value out of range: underflow" instead of answering 0, and a point such as
-- 1e-200° made the distance an error. Differences and latitudes under 1e-9° (0.1 mm) count as 0.
CREATE OR REPLACE FUNCTION great_circle_m(lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT 2 * 6371008.8 * asin(least(1, sqrt(
    CASE WHEN abs(lat2 - lat1) < 1e-9 THEN 0 ELSE sin(radians(lat2 - lat1) / 2) ^ 2 END
    + CASE WHEN abs(lon2 - lon1) < 1e-9 THEN 0
           ELSE cos(radians(CASE WHEN abs(lat1) < 1e-9 THEN 0 ELSE lat1 END))
              * cos(radians(CASE WHEN abs(lat2) < 1e-9 THEN 0 ELSE lat2 END))
              * sin(radians(lon2 - lon1) / 2) ^ 2
      END)))
$$;
