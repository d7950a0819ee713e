-- Chi-squared tests as SciPy's: chi2_contingency, chi2_2samp (two samples of class labels),
-- chisquare (goodness of fit).

-- Pearson's chi-squared test of independence on a 2-D table of counts, as
-- scipy.stats.chi2_contingency(observed, correction): expected = row sum · column sum / total,
-- dof = (rows-1)(cols-1), Yates' continuity correction when dof = 1 and `correction` (scipy's
-- default is true), statistic 0 and p 1 when dof = 0. Where scipy raises (an expected count of
-- 0, a negative count, an empty or non-2-D table) this returns NULLs.
CREATE OR REPLACE FUNCTION shadowgate.chi2_contingency(observed double precision[], correction boolean DEFAULT true,
                                                       OUT statistic double precision, OUT p_value double precision,
                                                       OUT dof int)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    nr    int;
    nc    int;
    rs    double precision[];
    cs    double precision[];
    tot   double precision := 0;
    o     double precision;
    e     double precision;
    df    double precision;
    s     double precision := 0;
BEGIN
    IF observed IS NULL OR array_ndims(observed) IS DISTINCT FROM 2 THEN RETURN; END IF;
    nr := array_length(observed, 1);
    nc := array_length(observed, 2);
    rs := array_fill(0::double precision, ARRAY[nr]);
    cs := array_fill(0::double precision, ARRAY[nc]);
    FOR i IN 1..nr LOOP
        FOR j IN 1..nc LOOP
            o := observed[array_lower(observed, 1) + i - 1][array_lower(observed, 2) + j - 1];
            IF o IS NULL OR o < 0 OR o = 'NaN' THEN RETURN; END IF;
            rs[i] := rs[i] + o;
            cs[j] := cs[j] + o;
            tot := tot + o;
        END LOOP;
    END LOOP;
    IF tot = 0 THEN RETURN; END IF;
    FOR i IN 1..nr LOOP
        FOR j IN 1..nc LOOP
            IF rs[i] * cs[j] = 0 THEN RETURN; END IF;
        END LOOP;
    END LOOP;
    dof := (nr - 1) * (nc - 1);
    IF dof = 0 THEN
        statistic := 0; p_value := 1; RETURN;
    END IF;
    FOR i IN 1..nr LOOP
        FOR j IN 1..nc LOOP
            o := observed[array_lower(observed, 1) + i - 1][array_lower(observed, 2) + j - 1];
            e := rs[i] * cs[j] / tot;
            IF dof = 1 AND correction THEN
                df := e - o;
                o := o + sign(df) * least(0.5, abs(df));
            END IF;
            s := s + (o - e) ^ 2 / e;
        END LOOP;
    END LOOP;
    statistic := s;
    p_value := shadowgate.chi2_sf(s, dof);
END
$$;

-- Chi-squared test between two samples of class labels: the 2×K table (row = sample, column =
-- each label seen in either sample) through chi2_contingency. NULLs when either side is empty.
CREATE OR REPLACE FUNCTION shadowgate.chi2_2samp(a text[], b text[], correction boolean DEFAULT true,
                                                 OUT statistic double precision, OUT p_value double precision,
                                                 OUT dof int)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH v AS (SELECT x, 1 AS s FROM unnest(a) x WHERE x IS NOT NULL
               UNION ALL SELECT x, 2 FROM unnest(b) x WHERE x IS NOT NULL),
         t AS (SELECT x, count(*) FILTER (WHERE s = 1)::double precision AS ka,
                         count(*) FILTER (WHERE s = 2)::double precision AS kb
               FROM v GROUP BY x)
    SELECT r.statistic, r.p_value, r.dof
    FROM (SELECT ARRAY[array_agg(ka ORDER BY x), array_agg(kb ORDER BY x)] AS tab FROM t) q
    CROSS JOIN LATERAL shadowgate.chi2_contingency(q.tab, correction) r
    WHERE (SELECT sum(ka) FROM t) > 0 AND (SELECT sum(kb) FROM t) > 0
$$;

-- Pearson's goodness-of-fit test, scipy.stats.chisquare(f_obs, f_exp): f_exp defaults to the
-- mean of f_obs; dof = k - 1. NULLs when empty or when an expected count is <= 0.
CREATE OR REPLACE FUNCTION shadowgate.chisquare(f_obs double precision[], f_exp double precision[] DEFAULT NULL,
                                                OUT statistic double precision, OUT p_value double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k   int := coalesce(cardinality(f_obs), 0);
    mu  double precision;
    e   double precision;
    s   double precision := 0;
BEGIN
    IF k = 0 OR (f_exp IS NOT NULL AND cardinality(f_exp) <> k) THEN RETURN; END IF;
    SELECT avg(x) INTO mu FROM unnest(f_obs) x;
    FOR i IN 1..k LOOP
        e := CASE WHEN f_exp IS NULL THEN mu ELSE f_exp[i] END;
        IF e IS NULL OR e <= 0 OR f_obs[i] IS NULL THEN RETURN; END IF;
        s := s + (f_obs[i] - e) ^ 2 / e;
    END LOOP;
    statistic := s;
    p_value := CASE WHEN k > 1 THEN shadowgate.chi2_sf(s, k - 1) END;
END
$$;
