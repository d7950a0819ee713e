-- Population stability index of scores (buckets at the reference's deciles) and of categories.

-- PSI from the bucket counts of both samples, in bucket order (kr[i], kc[i]: the counts of the
-- same bucket, NULL when that sample has none there; nr, nc: the sample sizes). A fraction of
-- exactly 0 becomes eps. Summed in bucket order, so every caller gets the same bits.
CREATE OR REPLACE FUNCTION shadowgate._psi_from_counts(kr bigint[], kc bigint[], nr bigint, nc bigint,
                                                       eps double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    pr double precision;
    pc double precision;
    s  double precision;
BEGIN
    IF nr IS NULL OR nc IS NULL OR nr = 0 OR nc = 0 THEN RETURN NULL; END IF;
    FOR i IN 1..coalesce(cardinality(kr), 0) LOOP
        pr := CASE WHEN kr[i] IS NULL THEN eps ELSE kr[i]::double precision / nr END;
        pc := CASE WHEN kc[i] IS NULL THEN eps ELSE kc[i]::double precision / nc END;
        s := coalesce(s + (pc - pr) * ln(pc / pr), (pc - pr) * ln(pc / pr));
    END LOOP;
    RETURN s;
END
$$;

-- PSI of `current` against `reference` (scores): edges = the distinct percentile_cont(i/buckets)
-- of the reference (i = 1 … buckets−1, = numpy.quantile), bucket = width_bucket(x, edges), a
-- fraction of exactly 0 becomes eps, Σ (c − r)·ln(c / r) (Scripts/stats-fixtures/psi_reference.py).
-- Summed through _psi_from_counts, so compare() — which counts buckets from per-value counts —
-- returns the very same value.
CREATE OR REPLACE FUNCTION shadowgate.psi(reference double precision[], current double precision[],
                                          buckets int DEFAULT 10, eps double precision DEFAULT 1e-4)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET work_mem = '128MB'
AS $$
DECLARE
    nr     bigint;
    nc     bigint;
    qs     double precision[];
    edges  double precision[];
    kr     bigint[];
    kc     bigint[];
BEGIN
    SELECT count(*), percentile_cont(ARRAY(SELECT i::double precision / buckets FROM generate_series(1, buckets - 1) i))
                         WITHIN GROUP (ORDER BY x)
      INTO nr, qs
      FROM unnest(reference) x WHERE x IS NOT NULL AND x <> 'NaN';
    SELECT count(*) INTO nc FROM unnest(current) x WHERE x IS NOT NULL AND x <> 'NaN';
    IF nr = 0 OR nc = 0 THEN RETURN NULL; END IF;
    edges := ARRAY(SELECT DISTINCT u FROM unnest(qs) u ORDER BY u);
    SELECT array_agg(k1 ORDER BY b), array_agg(k2 ORDER BY b) INTO kr, kc
    FROM (SELECT width_bucket(x, edges) AS b, count(*) FILTER (WHERE s = 1) AS k1, count(*) FILTER (WHERE s = 2) AS k2
          FROM (SELECT x, 1 AS s FROM unnest(reference) x UNION ALL SELECT x, 2 FROM unnest(current) x) v
          WHERE x IS NOT NULL AND x <> 'NaN' GROUP BY 1) t;
    RETURN shadowgate._psi_from_counts(array_replace(kr, 0::bigint, NULL), array_replace(kc, 0::bigint, NULL), nr, nc, eps);
END
$$;

-- PSI over categories (strings): one bucket per category seen on either side, same formula and
-- eps rule as psi(). NULL when either side is empty.
CREATE OR REPLACE FUNCTION shadowgate.psi_categorical(reference text[], current text[], eps double precision DEFAULT 1e-4)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH r AS (SELECT x, count(*) AS k FROM unnest(reference) x WHERE x IS NOT NULL GROUP BY x),
         c AS (SELECT x, count(*) AS k FROM unnest(current) x WHERE x IS NOT NULL GROUP BY x),
         n AS (SELECT (SELECT sum(k) FROM r) AS nr, (SELECT sum(k) FROM c) AS nc),
         f AS (SELECT CASE WHEN r.k IS NULL THEN eps ELSE r.k::double precision / n.nr END AS pr,
                      CASE WHEN c.k IS NULL THEN eps ELSE c.k::double precision / n.nc END AS pc
               FROM r FULL JOIN c ON r.x = c.x CROSS JOIN n)
    SELECT CASE WHEN n.nr IS NULL OR n.nc IS NULL THEN NULL
                ELSE (SELECT sum((pc - pr) * ln(pc / pr)) FROM f) END
    FROM n
$$;
